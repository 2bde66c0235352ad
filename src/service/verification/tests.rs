//! Verdicts one by one, pooled and in batches agree, for every kind of credential.

use super::*;
use crate::credential::{b64, b64_decode, sign_compact};
use crate::domain::Reason;
use crate::service::Services;
use crate::service::test_support::{gateway, issue_request};
use serde_json::{Value, json};

async fn issue(gw: &Services, n: u32) -> String {
    gw.issuance
        .issue_card("test", issue_request(n))
        .await
        .expect("issued")
        .qr_payload()
}

/// Every kind of credential the checks tell apart, own-signed where a signature matters.
async fn credentials(gw: &Services) -> Vec<String> {
    let valid = issue(gw, 1).await;
    let suspended = issue(gw, 2).await;
    let revoked = issue(gw, 3).await;
    let card = |qr: &str| -> String {
        let token = strip_qr_prefix(qr);
        let p = token.split('.').nth(1).expect("payload");
        let claims: Value = serde_json::from_slice(&b64_decode(p).expect("b64")).expect("json");
        claims["sub"].as_str().expect("sub").to_owned()
    };
    gw.issuance
        .suspend_card("test", &card(&suspended), "test")
        .await
        .expect("suspend");
    gw.issuance
        .revoke_card("test", &card(&revoked), "test")
        .await
        .expect("revoke");
    gw.state.refresh().await.expect("refresh");

    let other_payload = strip_qr_prefix(&suspended)
        .split('.')
        .nth(1)
        .expect("payload")
        .to_owned();
    let token = strip_qr_prefix(&valid).to_owned();
    let mut parts = token.split('.');
    let (h, p, s) = (
        parts.next().expect("h"),
        parts.next().expect("p"),
        parts.next().expect("s"),
    );
    let header: Value = serde_json::from_slice(&b64_decode(h).expect("b64")).expect("json");
    let payload = String::from_utf8(b64_decode(p).expect("b64")).expect("utf8");
    let claims: Value = serde_json::from_str(&payload).expect("json");
    let keys = gw.state.keyring();
    let signer = keys.signer(now()).expect("signer");
    let key = signer.ed25519().expect("an Ed25519 key").signing_key();
    let t = now();
    let sign_raw = |header: &Value, payload: &str| sign_compact(header, payload.as_bytes(), key);
    let with = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().expect("object") {
            if v.is_null() {
                c.as_object_mut().expect("object").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        sign_raw(&header, &c.to_string())
    };
    let header_with = |changes: Value| {
        let mut hd = header.clone();
        for (k, v) in changes.as_object().expect("object") {
            hd[k] = v.clone();
        }
        sign_raw(&hd, &payload)
    };
    let sign_header = |hd: &str| {
        use ed25519_dalek::Signer;
        let input = format!("{}.{}", b64(hd), b64(&payload));
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    };
    let hjson = header.to_string();
    let hx5c = hjson.replacen('{', "{\"x5c\":1e400,", 1);
    let hunknown = hjson.replacen('{', "{\"unknown\":1e400,", 1);
    let flip = |s: &str, at: usize| -> String {
        let mut b = s.as_bytes().to_vec();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).expect("ascii")
    };
    let mut out = vec![
        valid.clone(),
        token.clone(),
        format!("  {valid}\n"),
        suspended,
        revoked,
        // signatures
        format!("{h}.{}.{s}", other_payload),
        format!("{h}.{p}.{}", flip(s, 5)),
        format!("{h}.{p}.{}", &s[..40]),
        format!("{h}.{p}.{s}AAAA"),
        format!("{h}.{p}.{}", b64([0u8; 64])),
        format!("{h}.{p}.{}", b64([0xffu8; 64])),
        // time
        with(json!({"exp": t - 3600, "iat": t - 7200, "nbf": t - 7200})),
        with(json!({"exp": t - 30})),
        with(json!({"nbf": t + 3600, "exp": t + 7200})),
        with(json!({"iat": t + 3600})),
        with(json!({"exp": t + 3600, "nbf": t + 3600})), // exp <= nbf, far from now so a slow run reads it the same
        // claims
        with(json!({"exp": "tomorrow"})),
        with(json!({"exp": 1.5e9})),
        with(json!({"exp": u64::MAX})),
        with(json!({"exp": -5})),
        with(json!({"exp": null})),
        with(json!({"nbf": null})),
        with(json!({"tier": "Z"})),
        with(json!({"tier": 3})),
        with(json!({"name": ""})),
        with(json!({"sub": "CQ0000000000000"})),
        with(json!({"status": null})),
        with(json!({"status": {"status_list": {"idx": -1}}})),
        with(json!({"status": {"status_list": {"idx": "1"}}})),
        with(json!({"status": {"status_list": {"idx": 1, "uri": "x"}, "x": [1, {"a": null}]}})),
        with(json!({"status": [1, 2]})),
        with(json!({"cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64([9u8; 32])}}})),
        with(json!({"cnf": {"jwk": ["OKP", "Ed25519", "x"]}})),
        with(json!({"cnf": "none"})),
        with(json!({"iss": "urn:cn:510700:talent-card"})),
        with(json!({"iss": 7})),
        with(json!({"iss": null})),
        with(json!({"extra": [true, false, null, 1e300, {"deep": [[[]]]}], "s": "\u{1F600}"})),
        // raw payloads: duplicates (last wins), escapes, numbers out of range, not objects
        sign_raw(
            &header,
            &payload.replacen('{', &format!("{{\"exp\":{},", t - 10), 1),
        ),
        sign_raw(
            &header,
            &payload.replacen("\"exp\"", &format!("\"exp\":{},\"exp\"", t - 10), 1),
        ),
        sign_raw(
            &header,
            &payload.replace("\"tier\":\"C\"", "\"tier\":\"\\u0043\""),
        ),
        sign_raw(&header, &payload.replace("\"iss\"", "\"\\u0069ss\"")),
        sign_raw(&header, &payload.replacen('{', "{\"big\":1e400,", 1)),
        sign_raw(&header, &payload.replacen('{', "{\"bad\":\"\\ud800\",", 1)),
        sign_raw(&header, "null"),
        sign_raw(&header, "[]"),
        sign_raw(&header, "{}"),
        sign_raw(&header, &format!("{payload} ")),
        sign_raw(&header, &format!("{payload}x")),
        // header
        header_with(json!({"kid": "no-such-key"})),
        header_with(json!({"alg": "none"})),
        header_with(json!({"alg": "ES256"})),
        header_with(json!({"alg": "Ed25519"})),
        header_with(json!({"alg": "HS256"})),
        header_with(json!({"typ": "JWT"})),
        header_with(json!({"crit": ["exp"]})),
        header_with(json!({"crit": null})),
        header_with(json!({"jwk": {"kty": "OKP"}})),
        sign_header(&hx5c),
        sign_header(&hunknown),
        format!("{}.{p}.{s}", b64("{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}")),
        format!("{}.{p}.{s}", b64("null")),
        format!("{}.{p}.{s}", b64("{\"kid\":1}")),
        // structure
        "not a token".into(),
        String::new(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.+/"),
        "a".repeat(MAX_CREDENTIAL_BYTES + 1),
        format!("{h}.{}.{s}", "A".repeat(MAX_CREDENTIAL_BYTES)),
    ];
    // past the scanner's bounds, before the signature
    let members: String = (0..300).map(|i| format!("\"m{i}\":0,")).collect();
    out.push(sign_raw(
        &header,
        &payload.replacen('{', &format!("{{{members}"), 1),
    ));
    let deep = format!("{{\"d\":{}0{},", "[".repeat(20), "]".repeat(20));
    out.push(sign_raw(&header, &payload.replacen('{', &deep, 1)));
    let long = format!("{{\"n\":{},", "1".repeat(41));
    out.push(sign_raw(&header, &payload.replacen('{', &long, 1)));
    out.push(sign_header(&hjson.replacen(
        '{',
        "{\"x\":1,\"\\u0078\":2,",
        1,
    )));
    // a large token that still fits: decoded on the heap
    out.push(with(json!({"pad": "x".repeat(3000)})));
    out
}

fn check(gw: &Services, creds: &[String], many: &[Verdict]) {
    assert_eq!(creds.len(), many.len());
    for (c, m) in creds.iter().zip(many) {
        assert_eq!(&gw.verification.verify(c), m, "credential {c:.120}");
    }
}

#[tokio::test]
async fn a_large_call_lets_other_tasks_run_between_chunks() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path()).await;
    let card = issue(&gw, 1).await;
    let call: Vec<&str> = vec![card.as_str(); 4 * CHUNK];
    // The test's runtime has one thread: the ticker runs only when verify_many yields.
    let ticks = Arc::new(AtomicUsize::new(0));
    let counted = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            counted.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
    });
    tokio::task::yield_now().await;
    let before = ticks.load(Ordering::Relaxed);
    let verdicts = gw.verification.verify_many(&call).await;
    let during = ticks.load(Ordering::Relaxed) - before;
    ticker.abort();
    assert!(verdicts.iter().all(Verdict::valid));
    assert!(during >= 3, "the ticker ran {during} times during 4 chunks");
}

#[tokio::test]
async fn batched_verdicts_are_verify_card_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path()).await;
    let creds = credentials(&gw).await;
    let refs: Vec<&str> = creds.iter().map(String::as_str).collect();
    let many = gw.verification.verify_many(&refs).await;

    // The checks tell these apart (so the comparison is not all MALFORMED).
    let reasons: Vec<Reason> = many.iter().map(|v| v.reason).collect();
    for (i, r) in [
        (0, Reason::Ok),
        (1, Reason::Ok),
        (2, Reason::Ok),
        (3, Reason::Suspended),
        (4, Reason::Revoked),
        (5, Reason::BadSignature),
        (6, Reason::BadSignature),
        (7, Reason::BadSignature),
        (11, Reason::Expired),
        (13, Reason::NotYetValid),
    ] {
        assert_eq!(reasons[i], r, "credential {i}: {:.100}", creds[i]);
    }
    assert!(many[31].holder_key.is_some());
    // past the scanner's bounds: many members, deep, a long number, a header name twice
    let n = reasons.len();
    assert_eq!(reasons[n - 5..n - 1], [Reason::Malformed; 4]);
    assert_eq!(reasons[n - 1], Reason::Ok);
    check(&gw, &creds, &many);

    // All valid: the batch passes as a whole.
    let valid: Vec<&str> = creds
        .iter()
        .zip(&many)
        .filter(|(_, v)| v.valid())
        .map(|(c, _)| c.as_str())
        .collect();
    assert!(valid.len() >= 4);
    let all_ok = gw.verification.verify_many(&valid).await;
    assert!(all_ok.iter().all(Verdict::valid));

    // Calls in flight on one thread, their signatures pooled.
    let mut calls = tokio::task::JoinSet::new();
    for (i, c) in creds.iter().enumerate() {
        let (gw, c) = (gw.clone(), c.clone());
        calls.spawn(async move { (i, gw.verification.verify_pooled(&c).await) });
    }
    let mut pooled = vec![None; creds.len()];
    while let Some(r) = calls.join_next().await {
        let (i, v) = r.expect("joined");
        pooled[i] = Some(v);
    }
    let pooled: Vec<Verdict> = pooled.into_iter().map(|v| v.expect("answered")).collect();
    check(&gw, &creds, &pooled);

    // One bad signature among many good ones: the batch fails, single checks find it.
    let mut mixed: Vec<&str> = valid.iter().copied().cycle().take(40).collect();
    mixed.insert(17, &creds[6]);
    let verdicts = gw.verification.verify_many(&mixed).await;
    let owned: Vec<String> = mixed.iter().map(|c| (*c).to_owned()).collect();
    check(&gw, &owned, &verdicts);
    assert_eq!(verdicts[17].reason, Reason::BadSignature);
    assert_eq!(verdicts.iter().filter(|v| v.valid()).count(), 40);

    // Several chunks: all pass in batches; then a bad signature in the second chunk, after
    // which that chunk and the rest of the call are checked one by one; then the whole
    // mixed list spread over chunks. Verdicts stay VerifyCard's.
    let many_valid: Vec<&str> = valid.iter().copied().cycle().take(3 * CHUNK + 5).collect();
    let verdicts = gw.verification.verify_many(&many_valid).await;
    assert!(verdicts.iter().all(Verdict::valid));
    let mut bad_later = many_valid.clone();
    bad_later.insert(CHUNK + 3, &creds[6]);
    bad_later.insert(2 * CHUNK + 7, &creds[5]);
    let verdicts = gw.verification.verify_many(&bad_later).await;
    let owned: Vec<String> = bad_later.iter().map(|c| (*c).to_owned()).collect();
    check(&gw, &owned, &verdicts);
    assert_eq!(verdicts[CHUNK + 3].reason, Reason::BadSignature);
    assert_eq!(verdicts[2 * CHUNK + 7].reason, Reason::BadSignature);
    assert_eq!(verdicts.iter().filter(|v| v.valid()).count(), 3 * CHUNK + 5);
    let spread: Vec<&str> = refs.iter().chain(&refs).chain(&refs).copied().collect();
    assert!(spread.len() > 2 * CHUNK);
    let verdicts = gw.verification.verify_many(&spread).await;
    let owned: Vec<String> = spread.iter().map(|c| (*c).to_owned()).collect();
    check(&gw, &owned, &verdicts);
    assert_eq!(gw.verification.verify_many_blocking(&spread), verdicts);
}
