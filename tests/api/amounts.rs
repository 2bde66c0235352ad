//! The district's own schemes: amounts by tier and stays in days, shown in verdicts from the
//! catalogue and drawn at redemption, counted by the database like uses.

use crate::both_databases;
use crate::fixtures::redeem_request;
use crate::helpers::{Db, TestApp, own_card, verify};
use crate::mianyang::Mianyang;
use talent_gateway::pb;
use tonic::Code;

/// The catalogue shipped before amounts and durations existed (version 2025.1).
const EARLIER_CATALOGUE: &str = include_str!("../common/catalogue-2025.1.toml");

fn draw(
    credential: &str,
    code: &str,
    key: &str,
    amount_yuan: i64,
    days: u32,
) -> pb::RedeemServiceRequest {
    pb::RedeemServiceRequest {
        amount_yuan,
        days,
        ..redeem_request(credential, code, key)
    }
}

fn entitlement<'a>(v: &'a pb::VerifyCardResponse, code: &str) -> &'a pb::Entitlement {
    v.entitlements
        .iter()
        .find(|e| e.service_code == code)
        .unwrap_or_else(|| panic!("{code} in {:?}", v.entitlements))
}

async fn listed(app: &TestApp, card_id: &str) -> Vec<pb::RedemptionEntry> {
    app.entitlements(Some("counter"))
        .await
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card_id.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner()
        .redemptions
}

async fn a_class_b_card_draws_its_yearly_annuity_and_no_more(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419900101011", "B").await;
    let v = verify(&app, &card.token).await;
    assert!(v.valid, "{v:?}");
    let annuity = entitlement(&v, "CQ16");
    assert_eq!(
        (
            annuity.basis.as_str(),
            annuity.amount_yuan,
            annuity.period.as_str(),
            annuity.days
        ),
        ("home", 8_000, "year", 0)
    );
    let subsidy = entitlement(&v, "CQ18");
    assert_eq!(
        (subsidy.amount_yuan, subsidy.period.as_str()),
        (84_000, "once")
    );
    let health = entitlement(&v, "CQ10");
    assert_eq!(
        (health.amount_yuan, health.period.as_str(), health.days),
        (0, "", 0)
    );

    let mut c = app.entitlements(Some("counter")).await;
    let catalogue = c
        .list_services(pb::ListServicesRequest {
            region: "chongqing".into(),
        })
        .await
        .expect("services")
        .into_inner();
    let service = |code: &str| {
        catalogue
            .services
            .iter()
            .find(|s| s.service_code == code)
            .cloned()
            .expect(code)
    };
    let by_tier = service("CQ16").amount_yuan_by_tier;
    assert_eq!(
        (by_tier["A"], by_tier["B"], by_tier["F"]),
        (10_000, 8_000, 1_000)
    );
    assert_eq!(service("CQ16").quota, "yuan per_year");
    assert_eq!(service("CQ17").stay_stages.len(), 2);
    assert!(service("CQ10").amount_yuan_by_tier.is_empty());

    let first = c
        .redeem_service(draw(&card.token, "CQ16", "annuity-1", 5_000, 0))
        .await
        .expect("drawn")
        .into_inner();
    assert_eq!((first.remaining, first.unit.as_str()), (3_000, "yuan"));
    assert!(first.period_end.is_some());

    // More than is left: refused, naming what is left and the period end; nothing drawn.
    let e = c
        .redeem_service(draw(&card.token, "CQ16", "annuity-2", 5_000, 0))
        .await
        .expect_err("more than is left");
    assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
    for words in ["3,000 yuan left", "8,000 yuan", "Asia/Shanghai"] {
        assert!(e.message().contains(words), "{words}: {}", e.message());
    }

    // Exactly once by key: a retry answers the first result; another amount is ALREADY_EXISTS.
    let again = c
        .redeem_service(draw(&card.token, "CQ16", "annuity-1", 5_000, 0))
        .await
        .expect("a retry")
        .into_inner();
    assert_eq!(again, first);
    let e = c
        .redeem_service(draw(&card.token, "CQ16", "annuity-1", 4_000, 0))
        .await
        .expect_err("same key, other amount");
    assert_eq!(e.code(), Code::AlreadyExists, "{}", e.message());

    // What the request must say, named by field; none of it changes anything.
    for (code, amount, days, field) in [
        ("CQ16", 0, 0, "amount_yuan"),
        ("CQ16", -1, 0, "amount_yuan"),
        ("CQ16", 100, 2, "days"),
        ("CQ10", 100, 0, "amount_yuan"),
        ("CQ10", 0, 2, "days"),
    ] {
        let e = c
            .redeem_service(draw(
                &card.token,
                code,
                &format!("bad-{code}-{amount}-{days}"),
                amount,
                days,
            ))
            .await
            .expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument, "{code}: {}", e.message());
        assert!(e.message().starts_with(field), "{code}: {}", e.message());
    }

    let last = c
        .redeem_service(draw(&card.token, "CQ16", "annuity-3", 3_000, 0))
        .await
        .expect("the rest")
        .into_inner();
    assert_eq!(last.remaining, 0);
    let entries = listed(&app, &card.card_id).await;
    let mut drawn: Vec<(i64, i64, &str)> = entries
        .iter()
        .map(|e| (e.amount_yuan, e.remaining, e.unit.as_str()))
        .collect();
    drawn.sort_unstable();
    assert_eq!(drawn, [(3_000, 0, "yuan"), (5_000, 3_000, "yuan")]);

    // A counted service beside it still counts uses.
    let r = c
        .redeem_service(redeem_request(&card.token, "CQ10", "health-1"))
        .await
        .expect("a use")
        .into_inner();
    assert_eq!((r.remaining, r.unit.as_str()), (0, "uses"));

    // A first draw over the whole allowance names all of it as left.
    let other = own_card(&app, "50010419900101012", "F").await;
    let e = c
        .redeem_service(draw(&other.token, "CQ16", "annuity-f", 1_500, 0))
        .await
        .expect_err("over the allowance");
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(e.message().contains("1,000 yuan left"), "{}", e.message());
    assert!(listed(&app, &other.card_id).await.is_empty());
}
both_databases!(a_class_b_card_draws_its_yearly_annuity_and_no_more);

async fn days_are_drawn_against_a_stay_in_stages(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419900101013", "F").await;
    let station = entitlement(&verify(&app, &card.token).await, "CQ17").clone();
    assert_eq!(
        (station.period.as_str(), station.days, station.amount_yuan),
        ("stay", 180, 0)
    );
    let stages: Vec<(u32, u32)> = station
        .stay_stages
        .iter()
        .map(|s| (s.days, s.pay_percent))
        .collect();
    assert_eq!(stages, [(90, 0), (90, 50)]);

    let mut c = app.entitlements(Some("counter")).await;
    let stage = |r: &pb::RedeemServiceResponse| -> Vec<(u32, u32)> {
        r.days_by_stage
            .iter()
            .map(|s| (s.days, s.pay_percent))
            .collect()
    };
    let r = c
        .redeem_service(draw(&card.token, "CQ17", "stay-1", 0, 85))
        .await
        .expect("85 days")
        .into_inner();
    assert_eq!((r.remaining, r.unit.as_str()), (95, "days"));
    assert_eq!(stage(&r), [(85, 0)]);
    let r = c
        .redeem_service(draw(&card.token, "CQ17", "stay-2", 0, 10))
        .await
        .expect("10 more")
        .into_inner();
    assert_eq!(r.remaining, 85);
    assert_eq!(
        stage(&r),
        [(5, 0), (5, 50)],
        "5 free days left, then half price"
    );
    let e = c
        .redeem_service(draw(&card.token, "CQ17", "stay-3", 0, 86))
        .await
        .expect_err("longer than what is left");
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(e.message().contains("85 days left"), "{}", e.message());
    let e = c
        .redeem_service(draw(&card.token, "CQ17", "stay-4", 500, 0))
        .await
        .expect_err("yuan for a stay");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("amount_yuan"), "{}", e.message());
    let entries = listed(&app, &card.card_id).await;
    let mut days: Vec<(u32, i64, &str)> = entries
        .iter()
        .map(|e| (e.days, e.remaining, e.unit.as_str()))
        .collect();
    days.sort_unstable();
    assert_eq!(days, [(10, 85, "days"), (85, 95, "days")]);
}
both_databases!(days_are_drawn_against_a_stay_in_stages);

/// A catalogue of the earlier format (no amounts) imports and means what it meant; one that
/// maps an amount across regions is refused, naming it.
async fn an_earlier_catalogue_still_imports(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut admin = app.admin().await;
    let earlier = EARLIER_CATALOGUE.replace("version = \"2025.1\"", "version = \"2025.9\"");
    let shared = include_str!("../../catalogue/catalogue.toml")
        .replace("version = \"2025.2\"", "version = \"2026.5\"")
        + "\n[[mappings]]\nchongqing = \"CQ16\"\nmianyang = \"MY13\"\n";
    let e = admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: shared,
            effective_from: None,
        })
        .await
        .expect_err("an amount mapped across regions");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("CQ16") && e.message().contains("drawn at home only"),
        "{}",
        e.message()
    );

    admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: earlier,
            effective_from: None,
        })
        .await
        .expect("the earlier format imports");
    let card = own_card(&app, "50010419900101014", "B").await;
    let v = verify(&app, &card.token).await;
    assert_eq!(v.catalogue_version, "2025.9");
    assert!(v.entitlements.iter().all(|e| e.service_code != "CQ16"));
    assert!(
        v.entitlements
            .iter()
            .all(|e| e.amount_yuan == 0 && e.days == 0 && e.period.is_empty())
    );
    let r = app
        .entitlements(Some("counter"))
        .await
        .redeem_service(redeem_request(&card.token, "CQ12", "rail-1"))
        .await
        .expect("a use")
        .into_inner();
    assert_eq!((r.remaining, r.unit.as_str()), (5, "uses"));
}
both_databases!(an_earlier_catalogue_still_imports);

/// A visitor sees the district's schemes as local only, and cannot draw them.
#[tokio::test]
async fn a_visitor_cannot_draw_a_home_only_amount() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder().config(&my.config()).spawn().await;
    let token = my.token(&Mianyang::claims("B"));
    let v = verify(&app, &token).await;
    assert!(v.valid, "{v:?}");
    let annuity = entitlement(&v, "CQ16");
    assert_eq!(annuity.basis, "local_only");
    let e = app
        .entitlements(Some("counter"))
        .await
        .redeem_service(draw(&token, "CQ16", "visitor-1", 1_000, 0))
        .await
        .expect_err("local only");
    assert_eq!(e.code(), Code::FailedPrecondition, "{}", e.message());
}

/// A database made before amounts existed: its redemptions keep their answers and their
/// quota, and read as counted uses.
async fn a_database_of_the_previous_version_keeps_its_redemptions(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "50010419900101015", "A").await;
    let mut c = app.entitlements(Some("counter")).await;
    let mut first = Vec::new();
    for key in ["old-1", "old-2"] {
        first.push(
            c.redeem_service(redeem_request(&card.token, "CQ12", key))
                .await
                .expect("a use")
                .into_inner(),
        );
    }
    app.terminate();
    to_previous_version(&app.database_url).await;
    app.restart_in_place();

    let entries = listed(&app, &card.card_id).await;
    let mut kept: Vec<(i64, &str, i64)> = entries
        .iter()
        .map(|e| (e.remaining, e.unit.as_str(), e.amount_yuan))
        .collect();
    kept.sort_unstable();
    assert_eq!(kept, [(4, "uses", 0), (5, "uses", 0)]);
    let mut c = app.entitlements(Some("counter")).await;
    let replay = c
        .redeem_service(redeem_request(&card.token, "CQ12", "old-1"))
        .await
        .expect("a retry of an old redemption")
        .into_inner();
    assert_eq!(replay.redemption_id, first[0].redemption_id);
    assert_eq!(replay.remaining, 5);
    let next = c
        .redeem_service(redeem_request(&card.token, "CQ12", "new-1"))
        .await
        .expect("counting goes on")
        .into_inner();
    assert_eq!((next.remaining, next.unit.as_str()), (3, "uses"));
}
both_databases!(a_database_of_the_previous_version_keeps_its_redemptions);

/// Takes the database back to the schema before migration 0007: its columns gone, the
/// migration not yet applied, as the previous version left it.
async fn to_previous_version(url: &str) {
    use sqlx::Connection;
    let undo = [
        "ALTER TABLE redemptions DROP COLUMN unit",
        "ALTER TABLE redemptions DROP COLUMN drawn",
        "DELETE FROM _sqlx_migrations WHERE version = 7",
    ];
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        for q in undo {
            sqlx::query(q).execute(&mut conn).await.expect(q);
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        for q in undo {
            sqlx::query(q).execute(&mut conn).await.expect(q);
        }
    }
}
