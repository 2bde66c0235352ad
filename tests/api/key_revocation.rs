//! Key revocation (issue #14): an own key stops at once and its cards get new tokens; a
//! partner's key stops by hand; bad input changes nothing.

use crate::both_databases;
use crate::helpers::{Db, TestApp, get_card, own_card, rotate, verify};
use crate::mianyang::Mianyang;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use talent_gateway::pb;
use tonic::Code;

fn claims(token: &str) -> serde_json::Value {
    let p = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
}

async fn keys(app: &TestApp) -> Vec<pb::SigningKey> {
    app.admin()
        .await
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect("keys")
        .into_inner()
        .keys
}

async fn bundle(app: &TestApp) -> (pb::GetTrustBundleResponse, serde_json::Value) {
    let b = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    let jwks = serde_json::from_str(&b.jwks_json).expect("jwks json");
    (b, jwks)
}

async fn revoke(app: &TestApp, kid: &str, reason: &str, renew: bool) -> Result<u64, tonic::Status> {
    app.admin()
        .await
        .revoke_key(pb::RevokeKeyRequest {
            kid: kid.into(),
            reason: reason.into(),
            renew_cards: renew,
        })
        .await
        .map(|r| r.into_inner().renewed)
}

/// What a restarted gateway and anyone reading its bundle must still see.
async fn assert_revoked_everywhere(app: &TestApp, old_kid: &str, old_token: &str) {
    let v = verify(app, old_token).await;
    assert_eq!(
        (v.valid, v.reason.as_str()),
        (false, "KEY_REVOKED"),
        "{v:?}"
    );
    let (b, jwks) = bundle(app).await;
    let listed: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(!listed.contains(&old_kid), "{listed:?}");
    let revoked = jwks["revoked"].as_array().expect("revoked member");
    assert_eq!(revoked.len(), 1, "{jwks}");
    assert_eq!(revoked[0]["kid"], old_kid);
    assert_eq!(revoked[0]["reason"], "key file copied off the laptop");
    assert!(revoked[0]["revoked_at"].as_i64().unwrap_or(0) > 0, "{jwks}");
    assert_eq!(b.revoked_keys.len(), 1);
    assert_eq!(b.revoked_keys[0].kid, old_kid);
    assert!(b.revoked_keys[0].revoked_at.is_some());
    let ks = keys(app).await;
    let old = ks
        .iter()
        .find(|k| k.key_id == old_kid)
        .expect("old key listed");
    assert_eq!(old.state, "revoked");
    assert_eq!(old.revoked_reason, "key file copied off the laptop");
    assert!(old.revoked_at.is_some());
    assert_eq!(
        ks.iter().filter(|k| k.state == "current").count(),
        1,
        "{ks:?}"
    );
}

async fn revoking_the_signing_key_renews_its_cards(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let a = own_card(&app, "50010419700101001", "C").await;
    let b = own_card(&app, "50010419700101002", "C").await;
    let gone = own_card(&app, "50010419700101003", "C").await;
    app.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: gone.card_id.clone(),
            reason: "left the programme".into(),
        })
        .await
        .expect("card revoked");
    let old_kid = a.key_id.clone();
    assert_eq!(verify(&app, &a.token).await.reason, "OK");

    // No next key is waiting: one is made and signs at once. A revoked card gets nothing.
    let renewed = revoke(&app, &old_kid, "key file copied off the laptop", true)
        .await
        .expect("revoked");
    assert_eq!(renewed, 2);
    assert_revoked_everywhere(&app, &old_kid, &a.token).await;
    assert_eq!(verify(&app, &gone.token).await.reason, "KEY_REVOKED");

    let mut fresh = Vec::new();
    for before in [&a, &b] {
        let after = get_card(&app, &before.card_id).await;
        assert_ne!(after.token, before.token);
        assert_ne!(after.key_id, old_kid);
        let (c0, c1) = (claims(&before.token), claims(&after.token));
        assert_eq!(c1["sub"], c0["sub"]);
        assert_eq!(c1["status"], c0["status"], "same status-list index");
        assert_eq!(c1["exp"], c0["exp"]);
        let v = verify(&app, &after.token).await;
        assert!(v.valid, "{v:?}");
        fresh.push(after);
    }
    // New cards are signed by the new key, which ListKeys shows as current.
    let c = own_card(&app, "50010419700101004", "C").await;
    assert_eq!(c.key_id, fresh[0].key_id);
    let current = keys(&app).await;
    assert!(
        current
            .iter()
            .any(|k| k.key_id == c.key_id && k.state == "current"),
        "{current:?}"
    );
    // Asking again is no error and renews nothing more; the first reason stands.
    assert_eq!(
        revoke(&app, &old_kid, "asked twice", true)
            .await
            .expect("again"),
        0
    );

    // Final across a restart.
    assert_eq!(app.terminate().code(), Some(0));
    app.restart_in_place();
    assert_revoked_everywhere(&app, &old_kid, &a.token).await;
    for f in &fresh {
        assert!(verify(&app, &f.token).await.valid);
    }
}
both_databases!(revoking_the_signing_key_renews_its_cards);

async fn a_waiting_next_key_signs_at_once_when_the_current_one_is_revoked(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let a = own_card(&app, "50010419700101011", "C").await;
    let next = rotate(&app, 3600).await;
    revoke(&app, &a.key_id, "key file copied off the laptop", false)
        .await
        .expect("revoked");
    // The hour of pre-publication is skipped: the published next key signs now.
    let b = own_card(&app, "50010419700101012", "C").await;
    assert_eq!(b.key_id, next.key_id);
    assert!(verify(&app, &b.token).await.valid);
    assert_eq!(verify(&app, &a.token).await.reason, "KEY_REVOKED");
    // Without renew_cards the card keeps its old token until asked.
    assert_eq!(get_card(&app, &a.card_id).await.token, a.token);
    assert_eq!(
        revoke(&app, &a.key_id, "renew now", true)
            .await
            .expect("renew"),
        1
    );
    assert!(
        verify(&app, &get_card(&app, &a.card_id).await.token)
            .await
            .valid
    );
}
both_databases!(a_waiting_next_key_signs_at_once_when_the_current_one_is_revoked);

async fn bad_revocation_requests_change_nothing(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder().db(db).config(&my.config()).spawn().await;
    let a = own_card(&app, "50010419700101021", "C").await;
    let e = revoke(&app, &a.key_id, "  ", true)
        .await
        .expect_err("no reason");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("reason"), "{e:?}");
    let e = revoke(&app, "no-such-kid", "leaked", true)
        .await
        .expect_err("unknown kid");
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("kid"), "{e:?}");
    let mut admin = app.admin().await;
    let e = admin
        .revoke_partner_key(pb::RevokePartnerKeyRequest {
            partner_id: "atlantis".into(),
            kid: "my-ed-1".into(),
            reason: "leaked".into(),
        })
        .await
        .expect_err("unknown partner");
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("partner_id"), "{e:?}");
    let e = admin
        .revoke_partner_key(pb::RevokePartnerKeyRequest {
            partner_id: "mianyang".into(),
            kid: "my-ed-1".into(),
            reason: String::new(),
        })
        .await
        .expect_err("no reason");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // A counter may not revoke anything.
    let e = pb::admin_client::AdminClient::new(app.channel(Some("counter")).await)
        .revoke_key(pb::RevokeKeyRequest {
            kid: a.key_id.clone(),
            reason: "leaked".into(),
            renew_cards: false,
        })
        .await
        .expect_err("counter");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // Nothing changed.
    assert!(verify(&app, &a.token).await.valid);
    assert!(verify(&app, &my.token(&Mianyang::claims("E"))).await.valid);
    let (b, jwks) = bundle(&app).await;
    assert!(
        b.revoked_keys.is_empty() && jwks.get("revoked").is_none(),
        "{jwks}"
    );
    assert!(keys(&app).await.iter().all(|k| k.state != "revoked"));
}
both_databases!(bad_revocation_requests_change_nothing);

async fn a_config_partners_key_is_revoked_by_hand(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let mut app = TestApp::builder().db(db).config(&my.config()).spawn().await;
    let token = my.token(&Mianyang::claims("E"));
    assert!(verify(&app, &token).await.valid);
    app.admin()
        .await
        .revoke_partner_key(pb::RevokePartnerKeyRequest {
            partner_id: "mianyang".into(),
            kid: "my-ed-1".into(),
            reason: "Mianyang reported the key stolen by phone".into(),
        })
        .await
        .expect("revoked");
    let v = verify(&app, &token).await;
    assert_eq!(
        (v.valid, v.reason.as_str()),
        (false, "KEY_REVOKED"),
        "{v:?}"
    );
    let partners = app
        .admin()
        .await
        .list_partners(pb::ListPartnersRequest {})
        .await
        .expect("partners")
        .into_inner()
        .partners;
    let p = partners
        .iter()
        .find(|p| p.id == "mianyang")
        .expect("listed");
    assert!(!p.key_ids.iter().any(|k| k == "my-ed-1"), "{p:?}");
    // The config file still lists the key; the revocation stands across a restart.
    assert_eq!(app.terminate().code(), Some(0));
    app.restart_in_place();
    assert_eq!(verify(&app, &token).await.reason, "KEY_REVOKED");
}
both_databases!(a_config_partners_key_is_revoked_by_hand);

#[tokio::test]
async fn the_cli_revokes_in_one_command() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let a = own_card(&app, "50010419700101031", "C").await;
    let certs = app.certs.display().to_string();
    let (ok, out) = crate::helpers::cli(&[
        "keys",
        "--addr",
        &app.addr,
        "--ca",
        &format!("{certs}/ca.pem"),
        "--cert",
        &format!("{certs}/operator.pem"),
        "--key",
        &format!("{certs}/operator.key"),
        "revoke",
        &a.key_id,
        "--reason",
        "key file copied off the laptop",
        "--renew",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("renewed 1 cards"), "{out}");
    assert!(out.contains("revoked"), "{out}");
    assert_eq!(verify(&app, &a.token).await.reason, "KEY_REVOKED");
    assert!(
        verify(&app, &get_card(&app, &a.card_id).await.token)
            .await
            .valid
    );
}

async fn every_replica_refuses_the_key_within_a_refresh(db: Db) {
    let secrets = "key_encryption_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
                   id_hash_secret = \"HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=\"\n";
    let first = TestApp::builder().db(db).config(secrets).spawn().await;
    let second = TestApp::builder()
        .database_of(&first)
        .config(secrets)
        .spawn()
        .await;
    let a = own_card(&first, "50010419700101041", "C").await;
    assert!(verify(&second, &a.token).await.valid);
    revoke(&first, &a.key_id, "key file copied off the laptop", true)
        .await
        .expect("revoked");
    // The replicas poll the change sequence every 200 ms (10 s: room for a loaded machine).
    let start = std::time::Instant::now();
    while verify(&second, &a.token).await.reason != "KEY_REVOKED" {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the other replica still trusts the revoked key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let renewed = get_card(&second, &a.card_id).await;
    assert!(verify(&second, &renewed.token).await.valid);
    let b = own_card(&second, "50010419700101042", "C").await;
    assert_eq!(
        b.key_id, renewed.key_id,
        "the other replica signs with the new key"
    );
}
both_databases!(every_replica_refuses_the_key_within_a_refresh);
