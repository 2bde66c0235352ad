//! Recognising Science City cards: every reason code, with tokens made by an independent
//! signer here (ed25519-dalek and p256 directly, not the gateway's signing code).

use crate::fixtures::{b64, now};
use crate::helpers::{Db, TestApp, verify};
use crate::mianyang::{ISSUER, Mianyang};
use serde_json::{Value, json};
use talent_gateway::pb;

async fn app_with_partner() -> (TestApp, Mianyang, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;
    (app, my, dir)
}

fn usable(v: &pb::VerifyCardResponse) -> Vec<String> {
    v.entitlements
        .iter()
        .filter(|e| e.basis == "home" || e.basis == "host_standard")
        .map(|e| e.service_code.clone())
        .collect()
}

#[tokio::test]
async fn science_city_cards_are_recognised_at_the_host_standard() {
    let (app, my, _dir) = app_with_partner().await;
    let v = verify(&app, &my.token(&Mianyang::claims("E"))).await;
    assert!(v.valid, "{v:?}");
    assert_eq!(v.issuer_region, "mianyang");
    assert_eq!(v.card_id, "KJC0000000042");
    assert_eq!(
        (v.native_tier.as_str(), v.recognised_tier.as_str()),
        ("E", "F")
    );
    assert_eq!(usable(&v), ["CQ01", "CQ13"]);
    assert!(!v.catalogue_version.is_empty());
    // Local-only services are shown apart, with the reason.
    let apartment = v
        .entitlements
        .iter()
        .find(|e| e.service_code == "CQ05")
        .expect("CQ05 shown");
    assert_eq!(apartment.basis, "local_only");
    assert!(!apartment.reason.is_empty());
    let health = v
        .entitlements
        .iter()
        .find(|e| e.service_code == "CQ10")
        .expect("CQ10 shown");
    assert_eq!(
        (health.basis.as_str(), health.source_service_code.as_str()),
        ("not_eligible", "MY07")
    );

    let v = verify(&app, &my.token_es256(&Mianyang::claims("B"))).await;
    assert!(v.valid, "{v:?}");
    assert_eq!(usable(&v), ["CQ01", "CQ09", "CQ10", "CQ11", "CQ12", "CQ13"]);
    let mapped: Vec<_> = v
        .entitlements
        .iter()
        .filter(|e| e.basis == "host_standard")
        .map(|e| e.source_service_code.as_str())
        .collect();
    assert_eq!(mapped, ["MY01", "MY06", "MY07", "MY14", "MY08", "MY10"]);
    // QR payload with the partner's prefix.
    assert!(
        verify(&app, &format!("KJC1:{}", my.token(&Mianyang::claims("A"))))
            .await
            .valid
    );
}

#[tokio::test]
async fn every_refusal_has_its_reason() {
    let (app, my, _dir) = app_with_partner().await;
    let t = now();
    let claims = Mianyang::claims("B");
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let other_ed = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let good = my.token(&claims);
    let (h, p, s) = {
        let mut parts = good.split('.');
        (
            parts.next().expect("h").to_owned(),
            parts.next().expect("p").to_owned(),
            parts.next().expect("s").to_owned(),
        )
    };
    let forged_payload = b64(with(json!({"level": "A"})).to_string());
    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "not a token at all".into(), "MALFORMED"),
        ("two parts", format!("{h}.{p}"), "MALFORMED"),
        (
            "payload not JSON",
            format!("{h}.{}.{s}", b64("nope")),
            "MALFORMED",
        ),
        (
            "altered claim",
            format!("{h}.{forged_payload}.{s}"),
            "BAD_SIGNATURE",
        ),
        (
            "signed by another key",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "JWT"}),
                &claims,
                &other_ed,
            ),
            "BAD_SIGNATURE",
        ),
        (
            "unknown issuer",
            my.token(&with(json!({"iss": "urn:cn:510100:elsewhere"}))),
            "UNKNOWN_ISSUER",
        ),
        (
            "unknown kid",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "nobody", "typ": "JWT"}),
                &claims,
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "no kid",
            Mianyang::sign_ed(&json!({"alg": "EdDSA", "typ": "JWT"}), &claims, &my.ed),
            "UNKNOWN_KEY",
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(json!({"alg": "none", "typ": "JWT"}).to_string()),
                b64(claims.to_string())
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "HS256",
            format!(
                "{}.{}.{}",
                b64(json!({"alg": "HS256", "kid": "my-ed-1", "typ": "JWT"}).to_string()),
                b64(claims.to_string()),
                b64([0u8; 32])
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "lowercase alg",
            Mianyang::sign_ed(
                &json!({"alg": "eddsa", "kid": "my-ed-1", "typ": "JWT"}),
                &claims,
                &my.ed,
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "ES256 header on the EdDSA key",
            Mianyang::sign_ed(
                &json!({"alg": "ES256", "kid": "my-ed-1", "typ": "JWT"}),
                &claims,
                &my.ed,
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "jku header",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "JWT", "jku": "https://evil.example/jwks"}),
                &claims,
                &my.ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "embedded jwk",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "JWT", "jwk": Mianyang::jwk_ed("x", &other_ed)}),
                &claims,
                &other_ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "crit header",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "JWT", "crit": ["exp"]}),
                &claims,
                &my.ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "wrong typ",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "talent-card+jwt"}),
                &claims,
                &my.ed,
            ),
            "WRONG_TYPE",
        ),
        (
            "expired",
            my.token(&with(json!({"exp": t - 120}))),
            "EXPIRED",
        ),
        (
            "not yet valid",
            my.token(&with(json!({"nbf": t + 3600, "exp": t + 7200}))),
            "NOT_YET_VALID",
        ),
        (
            "iat in the future",
            my.token(&with(json!({"iat": t + 3600, "nbf": t - 60}))),
            "MALFORMED",
        ),
        (
            "non-numeric exp",
            my.token(&with(json!({"exp": "tomorrow"}))),
            "MALFORMED",
        ),
        (
            "level outside the partner's tiers",
            my.token(&with(json!({"level": "F"}))),
            "MALFORMED",
        ),
        (
            "card number of the wrong shape",
            my.token(&with(json!({"card_no": "CQ123"}))),
            "MALFORMED",
        ),
        (
            "a partner token claiming the Chongqing issuer",
            Mianyang::sign_ed(
                &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "talent-card+jwt"}),
                &with(json!({"iss": "urn:cn:500000:talent-card"})),
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
    ];
    for (name, token, want) in cases {
        let v = verify(&app, &token).await;
        assert!(!v.valid, "{name}: {v:?}");
        assert_eq!(v.reason, want, "{name}: {v:?}");
    }
}

#[tokio::test]
async fn a_rotated_partner_key_is_accepted_without_restart() {
    let (app, my, _dir) = app_with_partner().await;
    let next = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let token = Mianyang::sign_ed(
        &json!({"alg": "EdDSA", "kid": "my-ed-2", "typ": "JWT"}),
        &Mianyang::claims("C"),
        &next,
    );
    assert_eq!(verify(&app, &token).await.reason, "UNKNOWN_KEY");
    // Make sure the new file gets a new modification time.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    my.publish(&[("my-ed-1", &my.ed), ("my-ed-2", &next)]);
    let mut reason = String::new();
    for _ in 0..50 {
        reason = verify(&app, &token).await.reason;
        if reason == "OK" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        reason, "OK",
        "the new kid is accepted once the JWKS file changes"
    );
    // A broken file keeps the last good keys.
    std::fs::write(&my.jwks_path, "{ not json").expect("write");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(verify(&app, &token).await.reason, "OK");
}

#[tokio::test]
async fn a_suspended_partner_is_refused_until_resumed() {
    let (app, my, _dir) = app_with_partner().await;
    let token = my.token(&Mianyang::claims("A"));
    let mut admin = app.admin().await;
    let p = admin
        .suspend_partner(pb::SuspendPartnerRequest {
            id: "mianyang".into(),
            suspended: true,
            reason: "audit".into(),
        })
        .await
        .expect("suspended")
        .into_inner()
        .partner
        .expect("partner");
    assert!(p.suspended);
    assert_eq!(p.source, "config");
    let v = verify(&app, &token).await;
    assert_eq!(
        (v.valid, v.reason.as_str(), v.issuer_region.as_str()),
        (false, "PARTNER_SUSPENDED", "mianyang")
    );
    admin
        .suspend_partner(pb::SuspendPartnerRequest {
            id: "mianyang".into(),
            suspended: false,
            reason: String::new(),
        })
        .await
        .expect("resumed");
    assert_eq!(verify(&app, &token).await.reason, "OK");
    // The config file's partner cannot be removed or redefined through Admin.
    let removed = admin
        .remove_partner(pb::RemovePartnerRequest {
            id: "mianyang".into(),
        })
        .await
        .expect_err("config partner");
    assert_eq!(removed.code(), tonic::Code::FailedPrecondition);
    let counter = pb::admin_client::AdminClient::new(app.channel(Some("counter")).await)
        .suspend_partner(pb::SuspendPartnerRequest {
            id: "mianyang".into(),
            suspended: true,
            reason: String::new(),
        })
        .await
        .expect_err("operators only");
    assert_eq!(counter.code(), tonic::Code::PermissionDenied);
    assert_eq!(
        verify(&app, &token).await.reason,
        "OK",
        "a refused call changed nothing"
    );
}

async fn partners_added_through_admin_are_stored(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder().db(db).spawn().await;
    let token = my.token(&Mianyang::claims("D"));
    assert_eq!(verify(&app, &token).await.reason, "UNKNOWN_ISSUER");
    let mut admin = app.admin().await;
    let bad = admin
        .add_partner(pb::AddPartnerRequest {
            partner: Some(pb::Partner {
                id: "mianyang".into(),
                profile: "no-such-profile".into(),
                issuer: ISSUER.into(),
                ..Default::default()
            }),
            jwks_json: std::fs::read_to_string(&my.jwks_path).expect("jwks"),
        })
        .await
        .expect_err("unknown profile");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().starts_with("partner.profile"));
    let added = admin
        .add_partner(pb::AddPartnerRequest {
            partner: Some(pb::Partner {
                id: "mianyang".into(),
                profile: "science-city-card-v1".into(),
                issuer: ISSUER.into(),
                ..Default::default()
            }),
            jwks_json: std::fs::read_to_string(&my.jwks_path).expect("jwks"),
        })
        .await
        .expect("added")
        .into_inner()
        .partner
        .expect("partner");
    assert_eq!(added.source, "admin");
    assert_eq!(added.key_ids, ["my-ec-1", "my-ed-1"]);
    assert_eq!(verify(&app, &token).await.recognised_tier, "D");
    let listed = admin
        .list_partners(pb::ListPartnersRequest {})
        .await
        .expect("list")
        .into_inner()
        .partners;
    assert_eq!(listed.len(), 1);
    admin
        .remove_partner(pb::RemovePartnerRequest {
            id: "mianyang".into(),
        })
        .await
        .expect("removed");
    assert_eq!(verify(&app, &token).await.reason, "UNKNOWN_ISSUER");
}
crate::both_databases!(partners_added_through_admin_are_stored);

#[tokio::test]
async fn map_entitlements_works_in_both_directions() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let mut e = app.entitlements(None).await;
    let m = e
        .map_entitlements(pb::MapEntitlementsRequest {
            from_region: "mianyang".into(),
            tier: "B".into(),
            to_region: "chongqing".into(),
            language: "en".into(),
        })
        .await
        .expect("mapped")
        .into_inner();
    assert_eq!(m.recognised_tier, "B");
    let pairs: Vec<_> = m
        .entries
        .iter()
        .filter(|x| x.basis == "host_standard")
        .map(|x| (x.source_service_code.as_str(), x.service_code.as_str()))
        .collect();
    assert!(
        pairs.contains(&("MY07", "CQ10"))
            && pairs.contains(&("MY01", "CQ01"))
            && pairs.contains(&("MY06", "CQ09"))
    );
    let health = m
        .entries
        .iter()
        .find(|x| x.service_code == "CQ10")
        .expect("CQ10");
    assert_eq!(health.name, "Health check");
    let back = e
        .map_entitlements(pb::MapEntitlementsRequest {
            from_region: "chongqing".into(),
            tier: "F".into(),
            to_region: "mianyang".into(),
            language: String::new(),
        })
        .await
        .expect("mapped")
        .into_inner();
    assert_eq!(back.recognised_tier, "E");
    let usable: Vec<_> = back
        .entries
        .iter()
        .filter(|x| x.basis == "host_standard")
        .map(|x| x.service_code.as_str())
        .collect();
    assert_eq!(usable, ["MY01", "MY10"]);
    let bad = e
        .map_entitlements(pb::MapEntitlementsRequest {
            from_region: "chengdu".into(),
            tier: "B".into(),
            to_region: "chongqing".into(),
            language: String::new(),
        })
        .await
        .expect_err("unknown region");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().starts_with("from_region"));
    let list = e
        .list_services(pb::ListServicesRequest {
            region: "mianyang".into(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.services.len(), 14);
    assert_eq!(list.services[6].name_zh, "健康体检");
}
