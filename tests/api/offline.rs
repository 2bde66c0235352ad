//! The offline bundle (issue 17): with the gateway stopped, `verify --offline` (the real
//! binary, no network) gives the reason the gateway gave online, for every kind of
//! credential, on both databases' bundles; a bundle changed by one byte is refused; a bundle
//! past its `exp` gives STALE_TRUST_DATA; the trust anchor rolls forward over a rotation.

use crate::both_databases;
use crate::federation::two_regions_up;
use crate::fixtures::{b64, device, id_number, issue_request, now};
use crate::helpers::{Db, TestApp, eventually, issued, own_card, verify};
use crate::mianyang::{ISSUER as MY_ISSUER, Mianyang};
use crate::offline_bundle::{decode, export, export_with, parts, revoke_card, save_jwks};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use talent_gateway::pb;

/// One credential and what the gateway answered for it online.
struct Case {
    name: &'static str,
    credential: String,
    online: pb::VerifyCardResponse,
}

async fn case(app: &TestApp, name: &'static str, credential: String) -> Case {
    let online = verify(app, &credential).await;
    Case {
        name,
        credential,
        online,
    }
}

/// `verify --offline BUNDLE --trust TRUST --json CREDENTIAL [--at AT]`: (exit code, the
/// printed VerifyCardResponse when there is one, stderr).
fn offline(bundle: &Path, trust: &Path, credential: &str, at: Option<i64>) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_talent-gateway"));
    cmd.arg("verify")
        .arg("--offline")
        .arg(bundle)
        .arg("--trust")
        .arg(trust)
        .arg("--json");
    if let Some(at) = at {
        cmd.arg("--at").arg(at.to_string());
    }
    // The gateway is stopped, and nothing is listening where a client would call.
    let out = cmd
        .arg("--addr")
        .arg("127.0.0.1:1")
        .arg("--")
        .arg(credential)
        .output()
        .expect("run verify --offline");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, stderr)
}

/// Every case verified offline gives what the gateway gave online, with exit 0 for valid
/// and 1 for refused; the plain (non-JSON) form says the same reason.
fn assert_same_offline(cases: &[Case], bundle: &Path, trust: &Path) {
    for c in cases {
        let (code, v, err) = offline(bundle, trust, &c.credential, None);
        let o = &c.online;
        assert_eq!(
            code,
            if o.valid { 0 } else { 1 },
            "{}: exit code; online {} {}; offline {v} {err}",
            c.name,
            o.reason,
            o.detail
        );
        for (field, online) in [
            ("reason", o.reason.as_str()),
            ("card_id", &o.card_id),
            ("issuer_region", &o.issuer_region),
            ("native_tier", &o.native_tier),
            ("recognised_tier", &o.recognised_tier),
            ("holder_name", &o.holder_name),
            ("catalogue_version", &o.catalogue_version),
        ] {
            assert_eq!(
                v[field].as_str(),
                Some(online),
                "{}: {field}; online {} {}; offline {v}",
                c.name,
                o.reason,
                o.detail
            );
        }
        assert_eq!(v["valid"].as_bool(), Some(o.valid), "{}: {v}", c.name);
        let services = |v: &Value| -> Vec<String> {
            v["entitlements"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| format!("{} {}", e["service_code"], e["basis"]))
                        .collect()
                })
                .unwrap_or_default()
        };
        let online_services: Vec<String> = o
            .entitlements
            .iter()
            .map(|e| format!("\"{}\" \"{}\"", e.service_code, e.basis))
            .collect();
        assert_eq!(services(&v), online_services, "{}", c.name);
    }
    // The plain form, for one refused case.
    if let Some(c) = cases.iter().find(|c| !c.online.valid) {
        let out = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
            .arg("verify")
            .arg("--offline")
            .arg(bundle)
            .arg("--trust")
            .arg(trust)
            .arg(&c.credential)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&c.online.reason), "{text}");
    }
}

/// `token` with one byte of part `i` changed (the decoded byte, so the change is real).
fn one_byte_changed(token: &str, i: usize) -> String {
    let mut p = parts(token);
    let mut bytes = URL_SAFE_NO_PAD.decode(&p[i]).expect("base64url");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    p[i] = b64(bytes);
    p.join(".")
}

/// `token` with its header's `typ` replaced (its signature no longer matters: typ is
/// checked first).
fn with_typ(token: &str, typ: &str) -> String {
    let mut p = parts(token);
    let mut header = decode(&p[0]);
    header["typ"] = json!(typ);
    p[0] = b64(header.to_string());
    p.join(".")
}

/// A card signed by a key nobody trusts, for an issuer nobody knows.
fn unknown_issuer() -> String {
    let mut claims = Mianyang::claims("E");
    claims["iss"] = json!("urn:cn:999999:nobody");
    Mianyang::sign_ed(
        &json!({"alg": "EdDSA", "kid": "nobody-1", "typ": "JWT"}),
        &claims,
        &device(),
    )
}

async fn suspend_card(app: &TestApp, card_id: &str) {
    app.issuance(Some("operator"))
        .await
        .suspend_card(pb::SuspendCardRequest {
            card_id: card_id.into(),
            reason: "under review".into(),
        })
        .await
        .expect("suspended");
}

/// Own and partner cards of every kind: what the gateway says online, and offline from its
/// bundle once it is stopped.
async fn offline_verdicts_are_the_gateways(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let mut app = TestApp::builder().db(db).config(&my.config()).spawn().await;

    // A card under a key revoked afterwards (a new key signs at once).
    let under_revoked = own_card(&app, "50010419700101001", "C").await;
    app.admin()
        .await
        .revoke_key(pb::RevokeKeyRequest {
            kid: under_revoked.key_id.clone(),
            reason: "key file copied off the laptop".into(),
            renew_cards: false,
        })
        .await
        .expect("key revoked");
    let valid = own_card(&app, "50010419700101002", "B").await;
    let revoked = own_card(&app, "50010419700101003", "C").await;
    revoke_card(&app, &revoked.card_id).await;
    let suspended = own_card(&app, "50010419700101004", "D").await;
    suspend_card(&app, &suspended.card_id).await;
    let mut bound = issue_request(&id_number("50010419700101005"), "C", "");
    bound.holder_public_key = device().verifying_key().as_bytes().to_vec();
    let bound = issued(&app, bound).await;

    let t = now();
    let mut expired = Mianyang::claims("E");
    (expired["iat"], expired["nbf"], expired["exp"]) =
        (json!(t - 7200), json!(t - 7200), json!(t - 3600));
    let mut early = Mianyang::claims("E");
    (early["nbf"], early["exp"]) = (json!(t + 3600), json!(t + 7200));
    let partner_valid = my.token(&Mianyang::claims("E"));

    let mut cases = Vec::new();
    for (name, credential) in [
        ("own valid", valid.token.clone()),
        ("own valid, QR payload", valid.qr_payload.clone()),
        ("own revoked", revoked.token.clone()),
        ("own suspended", suspended.token.clone()),
        ("own under a revoked key", under_revoked.token.clone()),
        ("own bad signature", one_byte_changed(&valid.token, 2)),
        ("own wrong typ", with_typ(&valid.token, "JWT")),
        ("own holder-bound", bound.token.clone()),
        ("unknown issuer", unknown_issuer()),
        ("partner valid", partner_valid.clone()),
        (
            "partner valid ES256",
            my.token_es256(&Mianyang::claims("D")),
        ),
        ("partner expired", my.token(&expired)),
        ("partner not yet valid", my.token(&early)),
        ("partner bad signature", one_byte_changed(&partner_valid, 2)),
        (
            "partner wrong typ",
            with_typ(&partner_valid, "talent-card+jwt"),
        ),
        ("not a token", "not-a-token".to_owned()),
    ] {
        cases.push(case(&app, name, credential).await);
    }
    // The cases are what their names say (the online answers are the reference).
    for (name, reason) in [
        ("own valid", "OK"),
        ("own revoked", "REVOKED"),
        ("own suspended", "SUSPENDED"),
        ("own under a revoked key", "KEY_REVOKED"),
        ("own bad signature", "BAD_SIGNATURE"),
        ("own wrong typ", "WRONG_TYPE"),
        ("unknown issuer", "UNKNOWN_ISSUER"),
        ("partner valid", "OK"),
        ("partner valid ES256", "OK"),
        ("partner expired", "EXPIRED"),
        ("partner not yet valid", "NOT_YET_VALID"),
        ("partner bad signature", "BAD_SIGNATURE"),
    ] {
        let c = cases.iter().find(|c| c.name == name).expect("case");
        assert_eq!(c.online.reason, reason, "{name}: {:?}", c.online);
    }

    let b1 = dir.path().join("bundle-1.jwt");
    let j1 = dir.path().join("jwks-1.json");
    export_with(&app, &b1, &["--jwks", j1.to_str().expect("path")]);
    let bundle = std::fs::read_to_string(&b1).expect("bundle");
    let header = decode(&parts(&bundle)[0]);
    assert_eq!(header["typ"], "trust-bundle+jwt", "{header}");
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["kid"], valid.key_id, "signed by the current key");
    let claims = decode(&parts(&bundle)[1]);
    assert_eq!(
        claims["exp"].as_i64(),
        claims["iat"].as_i64().map(|t| t + 86400)
    );
    assert_eq!(claims["issuers"][0]["issuer"], "urn:cn:500000:talent-card");
    assert_eq!(claims["issuers"][1]["issuer"], MY_ISSUER);
    assert_eq!(
        claims["issuers"][0]["revoked"][0]["kid"],
        under_revoked.key_id
    );
    assert!(claims["issuers"][0]["status_list"].is_string(), "{claims}");
    assert!(claims["catalogue"]["version"].is_string(), "{claims}");

    // A rotation: the JWKS (and a bundle) made while the new key was next let a verifier
    // roll forward to the bundle the new key signs.
    let next = crate::helpers::rotate(&app, 2).await;
    let j2 = dir.path().join("jwks-2.json");
    let b_mid = dir.path().join("bundle-mid.jwt");
    save_jwks(&app, &j2).await;
    export(&app, &b_mid);
    let signs_from = next.signs_from.as_ref().expect("signs_from").seconds;
    tokio::time::sleep(Duration::from_secs(
        u64::try_from(signs_from - now() + 1).unwrap_or(0),
    ))
    .await;
    // A suspended partner is refused offline too.
    app.admin()
        .await
        .suspend_partner(pb::SuspendPartnerRequest {
            id: "mianyang".into(),
            suspended: true,
            reason: "agreement paused".into(),
        })
        .await
        .expect("partner suspended");
    let partner_suspended = eventually(Duration::from_secs(5), "suspension seen", || async {
        let c = case(&app, "partner suspended", partner_valid.clone()).await;
        (c.online.reason == "PARTNER_SUSPENDED").then_some(c)
    })
    .await;
    let b2 = dir.path().join("bundle-2.jwt");
    export(&app, &b2);
    let rolled = std::fs::read_to_string(&b2).expect("bundle");
    assert_eq!(decode(&parts(&rolled)[0])["kid"], next.key_id);

    assert!(app.terminate().success());

    assert_same_offline(&cases, &b1, &j1);
    // An earlier bundle is an anchor as good as the JWKS.
    assert_same_offline(&cases[..2], &b1, &b1);
    assert_same_offline(std::slice::from_ref(&partner_suspended), &b2, &j2);
    assert_same_offline(&cases[..1], &b2, &b_mid);
    // The JWKS from before the rotation never listed the new key.
    let (code, _, err) = offline(&b2, &j1, &valid.token, None);
    assert_eq!(code, 2, "{err}");

    // One byte changed in the header, the payload or the signature: refused, exit 2.
    for i in 0..3 {
        let tampered = dir.path().join(format!("tampered-{i}.jwt"));
        std::fs::write(&tampered, one_byte_changed(&bundle, i)).expect("write");
        let (code, v, err) = offline(&tampered, &j1, &valid.token, None);
        assert_eq!((code, &v), (2, &Value::Null), "part {i}: {v} {err}");
        assert!(err.contains("refused"), "{err}");
    }
    // Past its exp: STALE_TRUST_DATA, whatever the card.
    let exp = claims["exp"].as_i64().expect("exp");
    let (code, v, err) = offline(&b1, &j1, &valid.token, Some(exp + 1));
    assert_eq!(
        (code, v["reason"].as_str()),
        (1, Some("STALE_TRUST_DATA")),
        "{v} {err}"
    );
    let (code, v, _) = offline(&b1, &j1, &valid.token, Some(exp - 1));
    assert_eq!((code, v["reason"].as_str()), (0, Some("OK")), "{v}");
    // A trust file that is no anchor at all.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"nothing\": 1}").expect("write");
    let (code, _, err) = offline(&b1, &junk, &valid.token, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("trust anchor"), "{err}");
}
both_databases!(offline_verdicts_are_the_gateways);

/// A federated partner's cards, its status list included (revoked and suspended there), as
/// this gateway decides them online and offline.
async fn a_federated_partners_status_list_goes_offline(db: Db) {
    let (mut cq, mut my) = two_regions_up(db).await;
    let valid = own_card(&my, "51070019850202001", "C").await;
    let revoked = own_card(&my, "51070019850202002", "C").await;
    let suspended = own_card(&my, "51070019850202003", "C").await;
    eventually(
        Duration::from_secs(10),
        "Mianyang cards trusted",
        || async { verify(&cq, &valid.token).await.valid.then_some(()) },
    )
    .await;
    revoke_card(&my, &revoked.card_id).await;
    suspend_card(&my, &suspended.card_id).await;
    eventually(Duration::from_secs(10), "statuses seen", || async {
        (verify(&cq, &revoked.token).await.reason == "REVOKED"
            && verify(&cq, &suspended.token).await.reason == "SUSPENDED")
            .then_some(())
    })
    .await;
    let mut cases = Vec::new();
    for (name, credential) in [
        ("partner valid", valid.qr_payload.clone()),
        ("partner revoked", revoked.token.clone()),
        ("partner suspended card", suspended.token.clone()),
        ("partner bad signature", one_byte_changed(&valid.token, 2)),
    ] {
        cases.push(case(&cq, name, credential).await);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, jwks) = (dir.path().join("bundle.jwt"), dir.path().join("jwks.json"));
    export(&cq, &bundle);
    save_jwks(&cq, &jwks).await;
    let claims = decode(&parts(&std::fs::read_to_string(&bundle).expect("bundle"))[1]);
    assert!(claims["issuers"][1]["status_list"].is_string(), "{claims}");
    assert!(claims["issuers"][1]["stale"].is_null(), "{claims}");
    assert!(cq.terminate().success());
    assert!(my.terminate().success());
    assert_same_offline(&cases, &bundle, &jwks);
}
both_databases!(a_federated_partners_status_list_goes_offline);

/// An SM2 gateway's bundle (alg SM2) verified offline (issue 18 item 5).
async fn an_sm2_gateways_bundle_verifies_offline(db: Db) {
    let mut app = TestApp::builder()
        .db(db)
        .config("signing_algorithm = \"SM2\"\n")
        .spawn()
        .await;
    let valid = own_card(&app, "50010419700101011", "B").await;
    let revoked = own_card(&app, "50010419700101012", "B").await;
    revoke_card(&app, &revoked.card_id).await;
    let mut cases = Vec::new();
    for (name, credential) in [
        ("SM2 valid", valid.token.clone()),
        ("SM2 revoked", revoked.token.clone()),
        ("SM2 bad signature", one_byte_changed(&valid.token, 2)),
    ] {
        cases.push(case(&app, name, credential).await);
    }
    assert_eq!(
        cases
            .iter()
            .map(|c| c.online.reason.as_str())
            .collect::<Vec<_>>(),
        ["OK", "REVOKED", "BAD_SIGNATURE"]
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, jwks) = (dir.path().join("bundle.jwt"), dir.path().join("jwks.json"));
    export(&app, &bundle);
    save_jwks(&app, &jwks).await;
    let text = std::fs::read_to_string(&bundle).expect("bundle");
    assert_eq!(decode(&parts(&text)[0])["alg"], "SM2");
    assert!(app.terminate().success());
    assert_same_offline(&cases, &bundle, &jwks);
    let tampered: PathBuf = dir.path().join("tampered.jwt");
    std::fs::write(&tampered, one_byte_changed(&text, 2)).expect("write");
    let (code, _, err) = offline(&tampered, &jwks, &valid.token, None);
    assert_eq!(code, 2, "{err}");
}
both_databases!(an_sm2_gateways_bundle_verifies_offline);
