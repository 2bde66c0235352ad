//! Signing keys: the first key, rotation with pre-publication, JWKS.

use crate::both_databases;
use crate::helpers::{Db, TestApp, own_card, rotate, verify};
use talent_gateway::pb;

async fn kids(app: &TestApp) -> Vec<String> {
    let bundle = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    let jwks: serde_json::Value = serde_json::from_str(&bundle.jwks_json).expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn rotation_publishes_before_signing_and_old_cards_still_verify(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let before = own_card(&app, "50010419600101001", "C").await;
    let old_kid = before.key_id.clone();
    assert_eq!(kids(&app).await, vec![old_kid.clone()]);

    let next = rotate(&app, 3).await;
    assert_eq!(next.state, "next");
    assert_ne!(next.key_id, old_kid);
    // Published at once, before it signs anything.
    let published = kids(&app).await;
    assert!(
        published.contains(&next.key_id) && published.contains(&old_kid),
        "{published:?}"
    );
    let during = own_card(&app, "50010419600101002", "C").await;
    assert_eq!(
        during.key_id, old_kid,
        "the next key does not sign during pre-publication"
    );
    let twice = app
        .admin()
        .await
        .rotate_keys(pb::RotateKeysRequest {
            prepublish_seconds: 3,
        })
        .await
        .expect_err("one next key at a time");
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);

    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let after = own_card(&app, "50010419600101003", "C").await;
    assert_eq!(
        after.key_id, next.key_id,
        "the new key signs after pre-publication"
    );
    // The old key stays published while cards it signed are unexpired, and they verify.
    assert!(kids(&app).await.contains(&old_kid));
    for card in [&before, &during, &after] {
        assert_eq!(verify(&app, &card.token).await.reason, "OK");
    }
    let keys = app
        .admin()
        .await
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("keys")
        .into_inner()
        .keys;
    let state = |kid: &str| {
        keys.iter()
            .find(|k| k.key_id == kid)
            .map(|k| k.state.clone())
    };
    assert_eq!(state(&old_kid).as_deref(), Some("retired"));
    assert_eq!(state(&next.key_id).as_deref(), Some("current"));
}
both_databases!(rotation_publishes_before_signing_and_old_cards_still_verify);

#[tokio::test]
async fn keys_survive_a_restart_sealed_at_rest() {
    let mut app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let card = own_card(&app, "50010419600101004", "C").await;
    assert_eq!(app.terminate().code(), Some(0));
    // The private key is not in the database in clear.
    let db = std::fs::read(app.dir.path().join("gw.db")).unwrap_or_default();
    let kek = std::fs::read_to_string(app.dir.path().join("data/secrets/key-encryption.key"))
        .expect("kek file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("data/secrets/key-encryption.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!db.is_empty() && !kek.is_empty());
    let config = app.dir.path().join("gateway.toml");
    let restarted = TestApp::restart(&mut app, &config);
    assert_eq!(verify(restarted, &card.token).await.reason, "OK");
}

#[tokio::test]
async fn a_wrong_key_encryption_key_stops_the_start_and_says_why() {
    let mut app = TestApp::builder().db(Db::Sqlite).spawn().await;
    assert_eq!(app.terminate().code(), Some(0));
    // The same database, with another data folder's freshly made key-encryption key: the
    // stored signing key cannot be opened.
    let other = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(&app.database_url)
        .arg("--data-dir")
        .arg(other.path())
        .output()
        .expect("run serve");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("is the key-encryption key right?"), "{text}");
}
