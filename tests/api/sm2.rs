//! SM2 (commercial cryptography): a gateway with `signing_algorithm = "SM2"` issues, verifies,
//! suspends, revokes, renews and rotates cards; its keys are sealed with SM4-GCM; partners
//! that sign with SM2 are recognised. Interoperability with Python's gmssl, an
//! implementation written elsewhere (tests/common/gmssl_sm2.py): its signatures verify here,
//! and the gateway's cards verify there under the published JWK.

use crate::both_databases;
use crate::fixtures::b64;
use crate::helpers::{Db, TestApp, cli, not_run, own_card, rotate, verify};
use crate::mianyang::Mianyang;
use serde_json::{Value, json};
use sm2::dsa::signature::Verifier as _;
use talent_gateway::pb;

const SM2_CONFIG: &str = "signing_algorithm = \"SM2\"\nkey_sealing = \"SM4-GCM\"\n";

fn part(token: &str, i: usize) -> Value {
    let p = token.split('.').nth(i).expect("part");
    serde_json::from_slice(&talent_gateway::credential::b64_decode(p).expect("b64")).expect("json")
}

fn signature(token: &str) -> Vec<u8> {
    let s = token.rsplit('.').next().expect("signature");
    talent_gateway::credential::b64_decode(s).expect("b64")
}

/// `token` with one bit of its signature flipped.
fn flipped(token: &str) -> String {
    let (input, _) = token.rsplit_once('.').expect("three parts");
    let mut sig = signature(token);
    sig[17] ^= 0x04;
    format!("{input}.{}", b64(sig))
}

/// `token` with its header replaced (the signature left as it was).
fn with_header(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    format!(
        "{}.{}",
        b64(header.to_string()),
        parts.next().expect("rest")
    )
}

async fn jwks(app: &TestApp) -> Value {
    let bundle = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    serde_json::from_str(&bundle.jwks_json).expect("json")
}

/// The published JWK of `kid`, read back into a key by the `sm2` crate directly.
fn sm2_key_of(jwks: &Value, kid: &str) -> sm2::dsa::VerifyingKey {
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} is published: {jwks}"));
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("SM2"))
    );
    assert_eq!(jwk["alg"], "SM2");
    let coordinate = |m: &str| {
        talent_gateway::credential::b64_decode(jwk[m].as_str().expect("coordinate")).expect("b64")
    };
    // RFC 7638: the kid is the thumbprint over crv, kty, x, y, recomputed here.
    let canonical = format!(
        r#"{{"crv":"SM2","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().expect("x"),
        jwk["y"].as_str().expect("y")
    );
    use sha2::Digest as _;
    assert_eq!(kid, b64(sha2::Sha256::digest(canonical.as_bytes())));
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x"));
    sec1.extend(coordinate("y"));
    sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &sec1).expect("an SM2 point")
}

/// The JOSE form of a token signed by `key`: alg SM2, r || s over SM3 with the default ID.
fn assert_sm2_signed(token: &str, key: &sm2::dsa::VerifyingKey) {
    assert_eq!(part(token, 0)["alg"], "SM2");
    let (input, _) = token.rsplit_once('.').expect("three parts");
    let sig = signature(token);
    assert_eq!(sig.len(), 64, "r || s");
    let sig = sm2::dsa::Signature::from_slice(&sig).expect("r, s");
    assert!(key.verify(input.as_bytes(), &sig).is_ok());
}

async fn sm2_cards_live_end_to_end(db: Db) {
    let mut app = TestApp::builder().db(db).config(SM2_CONFIG).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let card = own_card(&app, "50010419800101001", "B").await;
    let first_kid = card.key_id.clone();
    let published = jwks(&app).await;
    let first_key = sm2_key_of(&published, &first_kid);
    assert_sm2_signed(&card.token, &first_key);
    assert_eq!(part(&card.token, 0)["kid"], first_kid.as_str());
    let keys = app
        .admin()
        .await
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("keys");
    assert_eq!(keys.into_inner().keys[0].algorithm, "SM2");

    let v = verify(&app, &card.token).await;
    assert_eq!((v.valid, v.reason.as_str()), (true, "OK"));
    assert_eq!(verify(&app, &card.qr_payload).await.reason, "OK");
    assert_eq!(
        verify(&app, &flipped(&card.token)).await.reason,
        "BAD_SIGNATURE"
    );
    // The key is pinned to SM2: the same token under alg EdDSA is refused before any
    // signature work.
    let mut header = part(&card.token, 0);
    header["alg"] = json!("EdDSA");
    assert_eq!(
        verify(&app, &with_header(&card.token, &header))
            .await
            .reason,
        "ALGORITHM_NOT_ALLOWED"
    );
    // Many at once (the batched path) give the same verdicts.
    let many = app
        .verification()
        .await
        .verify_cards(pb::VerifyCardsRequest {
            requests: [card.token.clone(), flipped(&card.token), card.token.clone()]
                .into_iter()
                .map(|credential| pb::VerifyCardRequest {
                    credential,
                    ..Default::default()
                })
                .collect(),
        })
        .await
        .expect("VerifyCards")
        .into_inner()
        .verdicts;
    let reasons: Vec<&str> = many.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons, ["OK", "BAD_SIGNATURE", "OK"]);

    // Suspend, resume, renew: each new token is SM2 too.
    ops.suspend_card(pb::SuspendCardRequest {
        card_id: card.card_id.clone(),
        reason: "under review".into(),
    })
    .await
    .expect("suspended");
    assert_eq!(verify(&app, &card.token).await.reason, "SUSPENDED");
    ops.resume_card(pb::ResumeCardRequest {
        card_id: card.card_id.clone(),
    })
    .await
    .expect("resumed");
    assert_eq!(verify(&app, &card.token).await.reason, "OK");
    let renewed = ops
        .renew_card(pb::RenewCardRequest {
            card_id: card.card_id.clone(),
            valid_days: 30,
            idempotency_key: String::new(),
        })
        .await
        .expect("renewed")
        .into_inner()
        .card
        .expect("card");
    assert_ne!(renewed.token, card.token);
    assert_sm2_signed(&renewed.token, &first_key);
    assert_eq!(verify(&app, &renewed.token).await.reason, "OK");

    // Rotation makes an SM2 key, published before it signs.
    let next = rotate(&app, 2).await;
    assert_eq!(
        (next.state.as_str(), next.algorithm.as_str()),
        ("next", "SM2")
    );
    let next_key = sm2_key_of(&jwks(&app).await, &next.key_id);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let later = own_card(&app, "50010419800101002", "C").await;
    assert_eq!(later.key_id, next.key_id);
    assert_sm2_signed(&later.token, &next_key);
    assert_eq!(verify(&app, &later.token).await.reason, "OK");
    assert_eq!(verify(&app, &renewed.token).await.reason, "OK");

    // Revoke: the card and the published status list say so, the list signed in SM2 too.
    ops.revoke_card(pb::RevokeCardRequest {
        card_id: card.card_id.clone(),
        reason: "left the region".into(),
    })
    .await
    .expect("revoked");
    assert_eq!(verify(&app, &renewed.token).await.reason, "REVOKED");
    let list = app
        .federation()
        .await
        .get_status_list(pb::GetStatusListRequest {})
        .await
        .expect("list")
        .into_inner()
        .status_list_token;
    assert_eq!(part(&list, 0)["typ"], "statuslist+jwt");
    assert_sm2_signed(&list, &next_key);

    // Sealed at rest with SM4-GCM, and read back after a restart.
    assert_eq!(app.terminate().code(), Some(0));
    let config = app.dir.path().join("gateway.toml");
    let restarted = TestApp::restart(&mut app, &config);
    assert_eq!(verify(restarted, &later.token).await.reason, "OK");
    assert_eq!(verify(restarted, &renewed.token).await.reason, "REVOKED");
    let again = own_card(restarted, "50010419800101003", "C").await;
    assert_eq!(again.key_id, next.key_id);
}
both_databases!(sm2_cards_live_end_to_end);

/// Ed25519 keys made before the switch keep verifying and the next key is SM2: an upgrade
/// to SM2 is a rotation.
async fn switching_to_sm2_is_a_rotation(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let ed_card = own_card(&app, "50010419800101004", "C").await;
    assert_eq!(part(&ed_card.token, 0)["alg"], "EdDSA");
    assert_eq!(app.terminate().code(), Some(0));
    let config = app.dir.path().join("gateway.toml");
    std::fs::write(&config, SM2_CONFIG).expect("config");
    let app = TestApp::restart(&mut app, &config);
    assert_eq!(verify(app, &ed_card.token).await.reason, "OK");
    let next = rotate(app, 1).await;
    assert_eq!(next.algorithm, "SM2");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let sm2_card = own_card(app, "50010419800101005", "C").await;
    assert_eq!(part(&sm2_card.token, 0)["alg"], "SM2");
    for token in [&ed_card.token, &sm2_card.token] {
        assert_eq!(verify(app, token).await.reason, "OK");
    }
    // An Ed25519 key is pinned too: its card under alg SM2 is refused.
    let mut header = part(&ed_card.token, 0);
    header["alg"] = json!("SM2");
    assert_eq!(
        verify(app, &with_header(&ed_card.token, &header))
            .await
            .reason,
        "ALGORITHM_NOT_ALLOWED"
    );
}
both_databases!(switching_to_sm2_is_a_rotation);

#[test]
fn config_check_names_a_wrong_algorithm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("gateway.toml");
    let path = file.to_str().expect("utf-8 path");
    std::fs::write(&file, SM2_CONFIG).expect("config");
    let (ok, text) = cli(&["config", "check", "--config", path]);
    assert!(ok, "{text}");
    std::fs::write(
        &file,
        "signing_algorithm = \"SM3\"\nkey_sealing = \"SM4\"\n",
    )
    .expect("config");
    let (ok, text) = cli(&["config", "check", "--config", path]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("signing_algorithm must be \"EdDSA\" or \"SM2\""),
        "{text}"
    );
    assert!(text.contains("key_sealing must be"), "{text}");
    // The environment sets it too.
    std::fs::write(&file, "").expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args(["config", "check", "--config", path])
        .env("TALENT_GATEWAY_SIGNING_ALGORITHM", "SM2")
        .output()
        .expect("config check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("signing_algorithm = \"SM2\""), "{text}");
}

/// Python's gmssl, when it is installed (tests/provision installs it; tests/run requires it).
fn gmssl() -> Option<std::path::PathBuf> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/gmssl_sm2.py");
    let found = std::process::Command::new("python3")
        .args(["-c", "import gmssl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(script);
    }
    let why = "python3 cannot import gmssl (pip install gmssl)";
    assert!(
        std::env::var_os("REQUIRE_GMSSL_TEST").is_none(),
        "REQUIRE_GMSSL_TEST is set but {why}"
    );
    not_run("the gmssl interoperability test (sm2::gmssl_*)", why);
    None
}

fn python(script: &std::path::Path, args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(out.status.success(), "gmssl_sm2.py {args:?} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A Science City token signed by gmssl under `alg`.
fn gmssl_token(script: &std::path::Path, private: &str, alg: &str, kid: &str) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64(header.to_string()),
        b64(Mianyang::claims("C").to_string())
    );
    let sig = python(script, &["sign", private], input.as_bytes());
    format!("{input}.{}", b64(hex(&sig)))
}

async fn gmssl_signs_and_verifies_what_the_gateway_does(db: Db) {
    let Some(script) = gmssl() else { return };
    // Mianyang signs with SM2 (its key made by gmssl), beside its Ed25519 key.
    let partner_dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(partner_dir.path());
    // A public key whose hex starts "04", the 1 key in 256 that gmssl's own constructor
    // mangles (tests/common/gmssl_sm2.py works around it): every run covers that case.
    let pair = python(&script, &["keypair", "04"], b"");
    let (private, public) = pair.split_once(' ').expect("two parts");
    let public = hex(public);
    let partner_jwks = json!({"keys": [
        Mianyang::jwk_ed("my-ed-1", &my.ed),
        {"kty": "EC", "crv": "SM2", "x": b64(&public[..32]), "y": b64(&public[32..]),
         "kid": "my-sm2-1", "alg": "SM2", "use": "sig"},
    ]});
    std::fs::write(&my.jwks_path, partner_jwks.to_string()).expect("jwks");
    let config = format!("{SM2_CONFIG}{}", my.config());
    let app = TestApp::builder().db(db).config(&config).spawn().await;

    // A partner token gmssl signed is valid, under SM2 and the names partners use for it.
    for alg in ["SM2", "SM3WithSM2", "GmSM2"] {
        let token = gmssl_token(&script, private, alg, "my-sm2-1");
        let v = verify(&app, &format!("KJC1:{token}")).await;
        assert_eq!((v.valid, v.reason.as_str()), (true, "OK"), "{alg}");
        assert_eq!(v.card_id, "KJC0000000042");
        // One bit of the signature changed: BAD_SIGNATURE.
        assert_eq!(
            verify(&app, &flipped(&token)).await.reason,
            "BAD_SIGNATURE",
            "{alg}"
        );
    }
    // Each key stays pinned to one algorithm.
    let token = gmssl_token(&script, private, "SM2", "my-sm2-1");
    let mut header = part(&token, 0);
    header["alg"] = json!("EdDSA");
    assert_eq!(
        verify(&app, &with_header(&token, &header)).await.reason,
        "ALGORITHM_NOT_ALLOWED"
    );
    let ed = my.token(&Mianyang::claims("C"));
    let mut header = part(&ed, 0);
    header["alg"] = json!("SM2");
    assert_eq!(
        verify(&app, &with_header(&ed, &header)).await.reason,
        "ALGORITHM_NOT_ALLOWED"
    );
    assert_eq!(verify(&app, &ed).await.reason, "OK");

    // The gateway's own SM2 card verifies under gmssl with the published JWK.
    let card = own_card(&app, "50010419800101006", "B").await;
    let published = jwks(&app).await;
    let jwk = published["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == card.key_id.as_str())
        .expect("published");
    let coordinate = |m: &str| {
        talent_gateway::credential::b64_decode(jwk[m].as_str().expect("coordinate")).expect("b64")
    };
    let public_hex: String = [coordinate("x"), coordinate("y")]
        .concat()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (input, _) = card.token.rsplit_once('.').expect("three parts");
    let sig_hex = |token: &str| -> String {
        signature(token)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        python(
            &script,
            &["verify", &public_hex, &sig_hex(&card.token)],
            input.as_bytes()
        ),
        "true"
    );
    assert_eq!(
        python(
            &script,
            &["verify", &public_hex, &sig_hex(&flipped(&card.token))],
            input.as_bytes()
        ),
        "false"
    );
}
both_databases!(gmssl_signs_and_verifies_what_the_gateway_does);

/// `keys rewrap` under `key_sealing = "SM4-GCM"` moves every stored key from
/// ChaCha20-Poly1305 to SM4-GCM, once; what it sealed opens at the next start, and the
/// default setting moves them back.
async fn rewrap_moves_sealed_keys_to_sm4_gcm_and_back(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419800101007", "C").await;
    assert_eq!(app.terminate().code(), Some(0));
    let config = app.dir.path().join("gateway.toml");
    let data = app.dir.path().join("data");
    let database_url = app.database_url.clone();
    let rewrap = || {
        cli(&[
            "keys",
            "rewrap",
            "--config",
            config.to_str().expect("utf-8"),
            "--database-url",
            &database_url,
            "--data-dir",
            data.to_str().expect("utf-8"),
        ])
    };
    for (sealing, moved) in [("SM4-GCM", "re-sealed 2 "), ("SM4-GCM", "re-sealed 0 ")] {
        std::fs::write(&config, format!("key_sealing = \"{sealing}\"\n")).expect("config");
        let (ok, out) = rewrap();
        assert!(ok && out.contains(moved), "{out}");
    }
    // 2 then 0: the signing key and the counter-token key are SM4-GCM records now (the
    // second run finds both current), and the settings say so.
    let (_, out) = cli(&[
        "config",
        "check",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert!(out.contains("key_sealing = \"SM4-GCM\""), "{out}");
    app.restart_in_place();
    assert_eq!(verify(&app, &card.token).await.reason, "OK");
    assert_eq!(
        own_card(&app, "50010419800101008", "C").await.key_id,
        card.key_id
    );
    assert_eq!(app.terminate().code(), Some(0));
    std::fs::write(&config, "").expect("config");
    let (ok, out) = rewrap();
    assert!(ok && out.contains("re-sealed 2 "), "{out}");
}
both_databases!(rewrap_moves_sealed_keys_to_sm4_gcm_and_back);

/// Two federated regions: Chongqing switches to SM2 (a restart and a rotation) while
/// Mianyang keeps trusting it through its trust bundle; Mianyang then reads Chongqing's
/// SM2 cards and its SM2-signed status list.
async fn a_partner_follows_a_switch_to_sm2(db: Db) {
    use crate::federation::{issue, two_regions_up, verify as verify_at};
    use crate::helpers::eventually;
    use std::time::Duration;
    let (mut cq, my) = two_regions_up(db).await;
    let ed_card = issue(&cq, "11010519800101061", "B", "sm2-fed-1").await;
    assert_eq!(cq.terminate().code(), Some(0));
    let config = cq.dir.path().join("gateway.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{SM2_CONFIG}{text}")).expect("config");
    cq.restart_in_place();
    let next = rotate(&cq, 1).await;
    assert_eq!(next.algorithm, "SM2");
    // It signs once its pre-publication (at least three of Mianyang's polls) is over.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let card = issue(&cq, "11010519800101062", "B", "sm2-fed-2").await;
    assert_eq!(card.key_id, next.key_id);
    assert_eq!(part(&card.token, 0)["alg"], "SM2");
    // Mianyang fetches the bundle with the SM2 key within a few polls (it may still be
    // backing off from the restart).
    eventually(
        Duration::from_secs(10),
        "the SM2 card trusted in Mianyang",
        || async { verify_at(&my, &card.token).await.valid.then_some(()) },
    )
    .await;
    assert_eq!(verify_at(&my, &ed_card.token).await.reason, "OK");
    cq.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: card.card_id.clone(),
            reason: "left the region".into(),
        })
        .await
        .expect("revoked");
    // Mianyang learns it from Chongqing's status list, signed with the SM2 key.
    eventually(Duration::from_secs(10), "REVOKED in Mianyang", || async {
        (verify_at(&my, &card.token).await.reason == "REVOKED").then_some(())
    })
    .await;
    assert_eq!(verify_at(&my, &ed_card.token).await.reason, "OK");
}
both_databases!(a_partner_follows_a_switch_to_sm2);

/// Revoking an SM2 key with `renew_cards` makes a new SM2 key at once and re-signs the
/// card under it; the revoked kid leaves the JWKS `keys` for its `revoked` list.
async fn a_revoked_sm2_key_is_replaced_by_an_sm2_key(db: Db) {
    let app = TestApp::builder().db(db).config(SM2_CONFIG).spawn().await;
    let card = own_card(&app, "50010419800101009", "C").await;
    let renewed = app
        .admin()
        .await
        .revoke_key(pb::RevokeKeyRequest {
            kid: card.key_id.clone(),
            reason: "leaked".into(),
            renew_cards: true,
        })
        .await
        .expect("revoked")
        .into_inner()
        .renewed;
    assert_eq!(renewed, 1);
    assert_eq!(verify(&app, &card.token).await.reason, "KEY_REVOKED");
    let fresh = app
        .issuance(Some("operator"))
        .await
        .get_card(pb::GetCardRequest {
            card_id: card.card_id.clone(),
        })
        .await
        .expect("card")
        .into_inner()
        .card
        .expect("card");
    assert_ne!(fresh.key_id, card.key_id);
    let published = jwks(&app).await;
    assert_sm2_signed(&fresh.token, &sm2_key_of(&published, &fresh.key_id));
    assert_eq!(verify(&app, &fresh.token).await.reason, "OK");
    assert!(
        !published["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| k["kid"] == card.key_id.as_str())
    );
    assert_eq!(published["revoked"][0]["kid"], card.key_id.as_str());
}
both_databases!(a_revoked_sm2_key_is_replaced_by_an_sm2_key);
