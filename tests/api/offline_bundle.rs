//! The offline bundle as the gateway writes it (issue 17): Federation.GetOfflineBundle and
//! `bundle export` answer a JWS of typ trust-bundle+jwt signed by the current own key, holding
//! each issuer's keys, revoked kids, status list and profile, and the catalogue in force.

use crate::both_databases;
use crate::helpers::{Db, TestApp, own_card};
use crate::mianyang::{ISSUER as MY_ISSUER, Mianyang};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::path::Path;
use talent_gateway::pb;

/// `bundle export` from the running gateway, as anyone may (no client certificate).
pub(crate) fn export(app: &TestApp, out: &Path) {
    export_with(app, out, &[]);
}

pub(crate) fn export_with(app: &TestApp, out: &Path, more: &[&str]) {
    let ca = app.certs.join("ca.pem");
    let mut args = vec![
        "bundle",
        "export",
        "--out",
        out.to_str().expect("path"),
        "--addr",
        &app.addr,
        "--ca",
        ca.to_str().expect("path"),
        "--public",
    ];
    args.extend_from_slice(more);
    let (ok, text) = crate::helpers::cli(&args);
    assert!(ok, "bundle export: {text}");
    assert!(text.contains("bytes"), "{text}");
}

/// The gateway's published JWKS, as a verifier is provisioned with it.
pub(crate) async fn save_jwks(app: &TestApp, out: &Path) {
    let jwks = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("trust bundle")
        .into_inner()
        .jwks_json;
    std::fs::write(out, jwks).expect("write jwks");
}

/// The three parts of a compact JWS.
pub(crate) fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

pub(crate) fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

pub(crate) async fn revoke_card(app: &TestApp, card_id: &str) {
    app.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: card_id.into(),
            reason: "left the programme".into(),
        })
        .await
        .expect("revoked");
}

async fn offline_bundle(app: &TestApp) -> String {
    app.federation()
        .await
        .get_offline_bundle(pb::GetOfflineBundleRequest {})
        .await
        .expect("GetOfflineBundle answers anyone")
        .into_inner()
        .bundle
}

/// The bundle's signature holds under the key its header names in the published JWKS.
fn assert_signed_under(bundle: &str, jwks: &Value) {
    let p = parts(bundle);
    let kid = decode(&p[0])["kid"].as_str().expect("kid").to_owned();
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} not in {jwks}"));
    let x = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().expect("x"))
        .expect("x");
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().expect("32 bytes")).expect("key");
    let sig = URL_SAFE_NO_PAD.decode(&p[2]).expect("signature");
    let sig = ed25519_dalek::Signature::from_slice(&sig).expect("64 bytes");
    key.verify_strict(format!("{}.{}", p[0], p[1]).as_bytes(), &sig)
        .expect("the bundle's signature holds");
}

/// What the bundle holds: every issuer with its keys, revoked kids, status list and profile,
/// the catalogue in force, `exp` by `offline_bundle_seconds`; made again when something
/// changed, and the same token while nothing did.
async fn the_bundle_holds_what_a_verdict_needs(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let config = format!("offline_bundle_seconds = 3600\n{}", my.config());
    let app = TestApp::builder().db(db).config(&config).spawn().await;
    let old = own_card(&app, "50010419700101001", "C").await;
    app.admin()
        .await
        .revoke_key(pb::RevokeKeyRequest {
            kid: old.key_id.clone(),
            reason: "key file copied off the laptop".into(),
            renew_cards: false,
        })
        .await
        .expect("key revoked");
    let card = own_card(&app, "50010419700101002", "C").await;
    let trust = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("trust bundle")
        .into_inner();
    let jwks: Value = serde_json::from_str(&trust.jwks_json).expect("JWKS");

    let bundle = offline_bundle(&app).await;
    let header = decode(&parts(&bundle)[0]);
    assert_eq!(header["typ"], "trust-bundle+jwt", "{header}");
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["kid"], card.key_id.as_str(), "the current key signs");
    assert_signed_under(&bundle, &jwks);
    let c = decode(&parts(&bundle)[1]);
    assert_eq!(c["iss"], "urn:cn:500000:talent-card");
    assert_eq!(c["region"], "chongqing");
    let iat = c["iat"].as_i64().expect("iat");
    assert!((iat - crate::fixtures::now()).abs() < 60, "{c}");
    assert_eq!(
        c["exp"].as_i64(),
        Some(iat + 3600),
        "offline_bundle_seconds"
    );
    assert_eq!(c["clock_skew_seconds"], 60);
    assert_eq!(c["catalogue"]["version"], trust.catalogue_version.as_str());
    assert!(c["catalogue"]["regions"].is_array(), "the document as JSON");

    let issuers = c["issuers"].as_array().expect("issuers");
    assert_eq!(issuers.len(), 2, "{c}");
    let own = &issuers[0];
    assert_eq!(own["issuer"], "urn:cn:500000:talent-card");
    assert_eq!(own["region"], "chongqing");
    assert_eq!(own["jwks"], jwks, "the published JWKS");
    assert_eq!(own["revoked"][0]["kid"], old.key_id.as_str());
    assert_eq!(
        own["revoked"][0]["reason"],
        "key file copied off the laptop"
    );
    assert_eq!(own["profile"]["id"], "new-chongqing-talent-card-v1");
    assert_eq!(own["profile"]["typ"], "talent-card+jwt");
    let status = own["status_list"].as_str().expect("own status list");
    assert_eq!(decode(&parts(status)[0])["typ"], "statuslist+jwt");
    assert_signed_under(status, &jwks);
    let partner = &issuers[1];
    assert_eq!(partner["issuer"], MY_ISSUER);
    assert_eq!(partner["region"], "mianyang");
    assert_eq!(partner["profile"]["id"], "science-city-card-v1");
    let kids: Vec<&str> = partner["jwks"]["keys"]
        .as_array()
        .expect("partner keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, ["my-ed-1", "my-ec-1"]);
    assert!(
        partner["status_list"].is_null(),
        "a JWKS-file partner publishes none"
    );
    assert!(
        partner.get("suspended").is_none() && partner.get("stale").is_none(),
        "{partner}"
    );
    // Nothing about any holder.
    assert!(!bundle.contains(&card.card_id) && !parts(&bundle)[1].is_empty());
    assert!(
        !String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(&parts(&bundle)[1]).expect("b64"))
            .contains("50010419700101002")
    );

    // The same token while nothing changed; a new one after a change.
    assert_eq!(offline_bundle(&app).await, bundle);
    revoke_card(&app, &card.card_id).await;
    app.admin()
        .await
        .suspend_partner(pb::SuspendPartnerRequest {
            id: "mianyang".into(),
            suspended: true,
            reason: "agreement paused".into(),
        })
        .await
        .expect("partner suspended");
    let again = offline_bundle(&app).await;
    assert_ne!(again, bundle);
    let c2 = decode(&parts(&again)[1]);
    assert_ne!(
        c2["issuers"][0]["status_list"],
        c["issuers"][0]["status_list"]
    );
    assert_eq!(c2["issuers"][1]["suspended"], true, "{c2}");

    // `bundle export` writes what GetOfflineBundle answers, and --jwks the anchor.
    let (out, anchor) = (dir.path().join("b.jwt"), dir.path().join("trust.json"));
    export_with(&app, &out, &["--jwks", anchor.to_str().expect("path")]);
    assert_eq!(std::fs::read_to_string(&out).expect("written"), again);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&anchor).expect("jwks")).expect("JSON");
    assert_eq!(written, jwks);
    let (plain, saved) = (dir.path().join("plain.jwt"), dir.path().join("saved.json"));
    export(&app, &plain);
    save_jwks(&app, &saved).await;
    assert_eq!(std::fs::read_to_string(&plain).expect("written"), again);
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        std::fs::read(&anchor).expect("anchor")
    );
    // A gateway that cannot be reached: a clear error, non-zero exit, nothing written.
    let gone = dir.path().join("never.jwt");
    let (ok, text) = crate::helpers::cli(&[
        "bundle",
        "export",
        "--out",
        gone.to_str().expect("path"),
        "--addr",
        "127.0.0.1:1",
        "--ca",
        app.certs.join("ca.pem").to_str().expect("path"),
        "--public",
    ]);
    assert!(!ok && text.contains("127.0.0.1:1"), "{text}");
    assert!(!gone.exists());
}
both_databases!(the_bundle_holds_what_a_verdict_needs);
