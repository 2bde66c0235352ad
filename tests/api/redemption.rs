//! Redemption at counters: exactly once, quotas counted by the database, refusals with reasons.

use crate::both_databases;
use crate::fixtures::redeem_request;
use crate::helpers::{Db, TestApp, own_card};
use crate::mianyang::Mianyang;
use talent_gateway::pb;
use tonic::Code;

type Counter = pb::entitlements_client::EntitlementsClient<tonic::transport::Channel>;

async fn counter(app: &TestApp) -> Counter {
    app.entitlements(Some("counter")).await
}

/// Runs 64 redemptions at once over their own connections, split across `apps`.
async fn race(
    apps: &[&TestApp],
    token: &str,
    keys: impl Fn(usize) -> String,
) -> Vec<Result<pb::RedeemServiceResponse, tonic::Status>> {
    let mut clients = Vec::new();
    for i in 0..64 {
        clients.push(counter(apps[i % apps.len()]).await);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let req = redeem_request(token, "CQ10", &keys(i));
            tokio::spawn(
                async move { c.redeem_service(req).await.map(tonic::Response::into_inner) },
            )
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn tally(
    results: &[Result<pb::RedeemServiceResponse, tonic::Status>],
) -> (usize, usize, Vec<String>) {
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let exhausted = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    let others: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|s| s.code() != Code::ResourceExhausted)
        .map(|s| format!("{:?}: {}", s.code(), s.message()))
        .collect();
    let mut ids: Vec<String> = ok.iter().map(|r| r.redemption_id.clone()).collect();
    ids.dedup();
    (
        ok.len(),
        exhausted,
        if others.is_empty() { ids } else { others },
    )
}

async fn a_one_per_year_service_is_redeemed_exactly_once_under_concurrency(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419880808001", "C").await;
    let results = race(&[&app], &card.token, |i| format!("distinct-{i}")).await;
    let (ok, exhausted, detail) = tally(&results);
    assert_eq!((ok, exhausted), (1, 63), "{detail:?}");
    let winner = results.iter().find_map(|r| r.as_ref().ok()).expect("one");
    assert_eq!(winner.remaining, 0);
    let exhausted = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("refused");
    assert!(
        exhausted.message().contains("Asia/Shanghai"),
        "{}",
        exhausted.message()
    );

    // The same key from 64 tasks: one redemption id, and no quota used twice.
    let other = own_card(&app, "50010419880808002", "C").await;
    let results = race(&[&app], &other.token, |_| "one-key".into()).await;
    let (ok, _, ids) = tally(&results);
    assert_eq!(ok, 64, "{ids:?}");
    assert_eq!(ids.len(), 1, "one key, one redemption: {ids:?}");
}
both_databases!(a_one_per_year_service_is_redeemed_exactly_once_under_concurrency);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgresql_keep_exactly_once() {
    let Some(db) = Db::postgres() else { return };
    let secrets = "key_encryption_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
                   id_hash_secret = \"HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=\"\n";
    let first = TestApp::builder().db(db).config(secrets).spawn().await;
    let second = TestApp::builder()
        .database_of(&first)
        .config(secrets)
        .spawn()
        .await;
    let card = own_card(&first, "50010419880808003", "B").await;
    let results = race(&[&first, &second], &card.token, |i| format!("two-{i}")).await;
    let (ok, exhausted, detail) = tally(&results);
    assert_eq!((ok, exhausted), (1, 63), "{detail:?}");
    let other = own_card(&second, "50010419880808004", "B").await;
    let results = race(&[&first, &second], &other.token, |_| "shared-key".into()).await;
    let (ok, _, ids) = tally(&results);
    assert_eq!((ok, ids.len()), (64, 1), "{ids:?}");
}

async fn quota_kinds_count_as_the_catalogue_says(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419880808005", "A").await;
    let mut c = counter(&app).await;
    // unlimited: recorded, nothing counted
    for i in 0..3 {
        let r = c
            .redeem_service(redeem_request(&card.token, "CQ01", &format!("u-{i}")))
            .await
            .expect("ok")
            .into_inner();
        assert_eq!(r.remaining, -1);
    }
    // per_year 6 counts down, then stops
    for left in (0..6).rev() {
        let r = c
            .redeem_service(redeem_request(
                &card.qr_payload,
                "CQ12",
                &format!("y-{left}"),
            ))
            .await
            .expect("ok")
            .into_inner();
        assert_eq!(r.remaining, left);
        assert!(r.period_end.is_some());
    }
    let e = c
        .redeem_service(redeem_request(&card.token, "CQ12", "y-7"))
        .await
        .expect_err("used up");
    assert_eq!(e.code(), Code::ResourceExhausted);
    // once: for the life of the card
    c.redeem_service(redeem_request(&card.token, "CQ05", "apartment-1"))
        .await
        .expect("ok");
    let e = c
        .redeem_service(redeem_request(&card.token, "CQ05", "apartment-2"))
        .await
        .expect_err("once");
    assert_eq!(e.code(), Code::ResourceExhausted);
    // per_event and external: recorded, never counted
    for i in 0..3 {
        let r = c
            .redeem_service(redeem_request(&card.token, "CQ07", &format!("child-{i}")))
            .await
            .expect("ok")
            .into_inner();
        assert_eq!(r.remaining, -1);
        c.redeem_service(redeem_request(&card.token, "CQ14", &format!("bank-{i}")))
            .await
            .expect("ok");
    }
    // A key reused for another service is refused; ListRedemptions pages newest first.
    let e = c
        .redeem_service(redeem_request(&card.token, "CQ01", "y-0"))
        .await
        .expect_err("key reused");
    assert_eq!(e.code(), Code::AlreadyExists);
    let page = c
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card.card_id.clone(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.redemptions.len(), 10);
    let rest = c
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card.card_id.clone(),
            page_size: 10,
            page_token: page.next_page_token,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        page.redemptions.len() + rest.redemptions.len(),
        3 + 6 + 1 + 6
    );
    let times: Vec<i64> = page
        .redemptions
        .iter()
        .chain(&rest.redemptions)
        .map(|r| r.redeemed_at.expect("t").seconds)
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
}
both_databases!(quota_kinds_count_as_the_catalogue_says);

#[tokio::test]
async fn refusals_say_why_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;
    let mut c = counter(&app).await;
    let visitor = my.token(&Mianyang::claims("B"));
    let e = c
        .redeem_service(redeem_request(&visitor, "CQ05", "v-1"))
        .await
        .expect_err("local only");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("local_only"), "{}", e.message());
    let ok = c
        .redeem_service(redeem_request(&visitor, "CQ01", "v-2"))
        .await
        .expect("mapped, unlimited")
        .into_inner();
    assert_eq!(ok.remaining, -1);
    let e = c
        .redeem_service(redeem_request(&visitor, "CQ10", "v-3"))
        .await
        .expect_err("counted at home");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("mianyang"), "{}", e.message());
    let low = my.token(&Mianyang::claims("E"));
    let e = c
        .redeem_service(redeem_request(&low, "CQ09", "v-4"))
        .await
        .expect_err("tier too low");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("not_eligible"));

    let card = own_card(&app, "50010419880808006", "C").await;
    app.issuance(Some("operator"))
        .await
        .revoke_card(pb::RevokeCardRequest {
            card_id: card.card_id.clone(),
            reason: "test".into(),
        })
        .await
        .expect("revoked");
    let e = c
        .redeem_service(redeem_request(&card.token, "CQ01", "r-1"))
        .await
        .expect_err("revoked");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("REVOKED"));
    use tonic_types::StatusExt;
    assert_eq!(
        e.get_details_error_info().expect("error info").reason,
        "REVOKED"
    );

    let fresh = own_card(&app, "50010419880808007", "C").await;
    for (req, field) in [
        (redeem_request(&fresh.token, "CQ01", ""), "idempotency_key"),
        (redeem_request(&fresh.token, "", "k-1"), "service_code"),
        (redeem_request(&fresh.token, "MY01", "k-2"), "service_code"),
    ] {
        let e = c.redeem_service(req).await.expect_err("bad request");
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with(field), "{}", e.message());
    }
    let public = app
        .entitlements(None)
        .await
        .redeem_service(redeem_request(&fresh.token, "CQ10", "p-1"))
        .await
        .expect_err("public");
    assert_eq!(public.code(), Code::Unauthenticated);
    let partner = app
        .entitlements(Some("partner"))
        .await
        .redeem_service(redeem_request(&fresh.token, "CQ10", "p-2"))
        .await
        .expect_err("partner");
    assert_eq!(partner.code(), Code::PermissionDenied);
    // None of the refusals used the health check.
    let r = c
        .redeem_service(redeem_request(&fresh.token, "CQ10", "k-3"))
        .await
        .expect("first use")
        .into_inner();
    assert_eq!(r.remaining, 0);
    let listed = c
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: fresh.card_id.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.redemptions.len(), 1);
}

async fn a_bad_catalogue_import_changes_nothing(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let shipped = include_str!("../../catalogue/catalogue.toml");
    let mut admin = app.admin().await;
    let bad = shipped
        .replace("version = \"2025.2\"", "version = \"2026.1\"")
        .replace("code = \"CQ02\"", "code = \"CQ01\"")
        .replace("mianyang = \"MY06\"", "mianyang = \"MY99\"")
        .replace("quota = \"per_year 6\"", "quota = \"six a year\"");
    let e = admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: bad,
            effective_from: None,
        })
        .await
        .expect_err("invalid");
    assert_eq!(e.code(), Code::InvalidArgument);
    for problem in ["CQ01 is listed twice", "MY99", "six a year"] {
        assert!(
            e.message().contains(problem),
            "{problem} not listed in: {}",
            e.message()
        );
    }
    let card = own_card(&app, "50010419880808008", "C").await;
    let v = crate::helpers::verify(&app, &card.token).await;
    assert_eq!(
        v.catalogue_version, "2025.2",
        "the old version stays in force"
    );

    // A valid new version with a start time in the future leaves the current one in force.
    let later = shipped.replace("version = \"2025.2\"", "version = \"2026.1\"");
    let tomorrow = prost_types::Timestamp {
        seconds: crate::fixtures::now() + 86_400,
        nanos: 0,
    };
    let r = admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: later.clone(),
            effective_from: Some(tomorrow),
        })
        .await
        .expect("imported")
        .into_inner();
    assert_eq!(r.catalogue_version, "2026.1");
    assert_eq!(
        crate::helpers::verify(&app, &card.token)
            .await
            .catalogue_version,
        "2025.2"
    );
    let now_version = later.replace("version = \"2026.1\"", "version = \"2026.2\"");
    admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: now_version,
            effective_from: None,
        })
        .await
        .expect("imported");
    assert_eq!(
        crate::helpers::verify(&app, &card.token)
            .await
            .catalogue_version,
        "2026.2"
    );
    let again = admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: later,
            effective_from: None,
        })
        .await
        .expect_err("version exists");
    assert_eq!(again.code(), Code::AlreadyExists);
}
both_databases!(a_bad_catalogue_import_changes_nothing);
