//! Counter tokens one by one (issue #14): each recorded with an id, listed, revoked for good
//! on every replica within a few refreshes; the HMAC key a sealed key of its own that
//! survives restarts, the key-encryption-key-derived one still verifying older tokens.

use crate::both_databases;
use crate::helpers::{Db, TestApp, cli, counter_token, own_card, with_token};
use sqlx::Connection;
use std::time::{Duration, Instant};
use talent_gateway::pb;
use tonic::Code;

/// Replicas share the key-encryption key (and so open the same sealed counter-token key).
const KEK_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SECRETS: &str = "key_encryption_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
                       id_hash_secret = \"HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=\"\n";

async fn revoke(
    app: &TestApp,
    token_id: &str,
    reason: &str,
) -> Result<pb::CounterToken, tonic::Status> {
    app.admin()
        .await
        .revoke_counter_token(pb::RevokeCounterTokenRequest {
            token_id: token_id.into(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().counter_token.expect("token"))
}

async fn listed(app: &TestApp, include_expired: bool) -> Vec<pb::CounterToken> {
    app.admin()
        .await
        .list_counter_tokens(pb::ListCounterTokensRequest { include_expired })
        .await
        .expect("listed")
        .into_inner()
        .counter_tokens
}

/// A call only a counter may make, with `token` as the bearer and no certificate.
pub(crate) async fn as_counter(
    app: &TestApp,
    token: &str,
    card_id: &str,
) -> Result<(), tonic::Status> {
    pb::entitlements_client::EntitlementsClient::new(with_token(app, None, token).await)
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card_id.into(),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

fn assert_revoked(result: Result<(), tonic::Status>) {
    let err = result.expect_err("a revoked token is refused");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(
        err.message().contains("counter token was revoked"),
        "{}",
        err.message()
    );
}

/// `(event, object, detail)` of the audit records whose event starts `counter_token.`.
async fn counter_audit(url: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT event, object, detail FROM audit_log \
               WHERE event LIKE 'counter_token.%' ORDER BY seq";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_as(sql).fetch_all(&mut c).await.expect("audit")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_as(sql).fetch_all(&mut c).await.expect("audit")
    }
}

async fn counter_tokens_are_listed_and_revoked_one_by_one(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "11010519491231011", "B").await;
    let lost = counter_token(&app, "desk-1", 8).await;
    let kept = counter_token(&app, "desk-2", 8).await;
    assert!(
        uuid::Uuid::parse_str(&lost.token_id).is_ok(),
        "{}",
        lost.token_id
    );
    assert_ne!(lost.token_id, kept.token_id);
    as_counter(&app, &lost.token, &card.card_id)
        .await
        .expect("desk-1 works");
    as_counter(&app, &kept.token, &card.card_id)
        .await
        .expect("desk-2 works");

    // Listed with their counter and times, newest first, never the token itself.
    let tokens = listed(&app, false).await;
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let t = tokens
        .iter()
        .find(|t| t.token_id == lost.token_id)
        .expect("listed");
    assert_eq!(t.counter, "spiffe://cq.talent/counter/desk-1");
    assert_eq!(t.issued_by, "spiffe://cq.talent/operator/dev");
    assert_eq!(t.expires_at, lost.expires_at);
    assert!(t.issued_at.expect("issued").seconds > crate::fixtures::now() - 60);
    assert!(t.revoked_at.is_none() && t.reason.is_empty());
    assert!(!format!("{tokens:?}").contains(&lost.token));

    // Wrong requests change nothing.
    for (id, reason, code, field) in [
        (lost.token_id.as_str(), "", Code::InvalidArgument, "reason"),
        (
            lost.token_id.as_str(),
            "  ",
            Code::InvalidArgument,
            "reason",
        ),
        ("", "laptop stolen", Code::InvalidArgument, "token_id"),
        ("desk-1", "laptop stolen", Code::InvalidArgument, "token_id"),
        (
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "laptop stolen",
            Code::NotFound,
            "token_id",
        ),
    ] {
        let err = revoke(&app, id, reason).await.expect_err("refused");
        assert_eq!(err.code(), code, "{err:?}");
        assert!(err.message().starts_with(field), "{}", err.message());
    }
    let long = "x".repeat(501);
    let err = revoke(&app, &lost.token_id, &long)
        .await
        .expect_err("too long");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    as_counter(&app, &lost.token, &card.card_id)
        .await
        .expect("still works after refused revocations");
    // Only operators revoke or list: not a counter, not with a token.
    let err = pb::admin_client::AdminClient::new(app.channel(Some("counter")).await)
        .revoke_counter_token(pb::RevokeCounterTokenRequest {
            token_id: lost.token_id.clone(),
            reason: "mine".into(),
        })
        .await
        .expect_err("a counter may not revoke");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = pb::admin_client::AdminClient::new(with_token(&app, None, &kept.token).await)
        .list_counter_tokens(pb::ListCounterTokensRequest::default())
        .await
        .expect_err("a counter token may not list");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = pb::admin_client::AdminClient::new(app.channel(None).await)
        .list_counter_tokens(pb::ListCounterTokensRequest::default())
        .await
        .expect_err("the public may not list");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // Revoked: refused at once on this replica, saying so; the other token keeps working.
    let revoked = revoke(&app, &lost.token_id, "laptop stolen from desk 1")
        .await
        .expect("revoked");
    assert_eq!(revoked.token_id, lost.token_id);
    assert_eq!(revoked.reason, "laptop stolen from desk 1");
    assert!(revoked.revoked_at.is_some());
    assert_revoked(as_counter(&app, &lost.token, &card.card_id).await);
    as_counter(&app, &kept.token, &card.card_id)
        .await
        .expect("desk-2 still works");
    // Final: a second revocation is refused and changes nothing.
    let err = revoke(&app, &lost.token_id, "again")
        .await
        .expect_err("final");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let t = listed(&app, false).await;
    let t = t
        .iter()
        .find(|t| t.token_id == lost.token_id)
        .expect("listed");
    assert_eq!(t.reason, "laptop stolen from desk 1");
    assert_eq!(t.revoked_at, revoked.revoked_at);

    // A restart keeps the revocation and the HMAC key: the token issued before it still works.
    assert_eq!(app.terminate().code(), Some(0));
    app.restart_in_place();
    assert_revoked(as_counter(&app, &lost.token, &card.card_id).await);
    as_counter(&app, &kept.token, &card.card_id)
        .await
        .expect("a token issued before the restart works after it");

    // Issue and revocation are audited (the token id, never the token).
    let audit = counter_audit(&app.database_url).await;
    let events: Vec<&str> = audit.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(
        events,
        [
            "counter_token.issue",
            "counter_token.issue",
            "counter_token.revoke",
            "counter_token.revoke"
        ],
        "{audit:?}"
    );
    assert!(audit[0].2.contains(&lost.token_id), "{audit:?}");
    assert_eq!(
        (audit[2].1.as_str(), audit[2].2.as_str()),
        (lost.token_id.as_str(), "laptop stolen from desk 1")
    );
    assert!(audit[3].2.contains("already revoked"), "{audit:?}");
    assert!(!format!("{audit:?}").contains(&lost.token));
}
both_databases!(counter_tokens_are_listed_and_revoked_one_by_one);

/// Unix seconds as the CLI prints them: `2027-11-30T10:12:37+08:00`.
fn china_time(seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds)
        .expect("a time")
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("offset"));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Runs `talent-gateway counter ARGS` as the operator of `app`.
fn counter_cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let certs = &app.certs;
    let ca = certs.join("ca.pem");
    let cert = certs.join("operator.pem");
    let key = certs.join("operator.key");
    let mut all = vec!["counter"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--addr", &app.addr]);
    all.extend_from_slice(&["--ca", ca.to_str().expect("utf-8")]);
    all.extend_from_slice(&["--cert", cert.to_str().expect("utf-8")]);
    all.extend_from_slice(&["--key", key.to_str().expect("utf-8")]);
    cli(&all)
}

async fn the_stolen_laptop_runbook_is_one_command(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "11010519491231012", "B").await;
    let (ok, out) = counter_cli(&app, &["token", "--name", "desk-7", "--valid-hours", "4"]);
    assert!(ok, "{out}");
    let token = out
        .lines()
        .find(|l| l.split('.').count() == 3 && !l.contains(' '))
        .expect("the token on its own line")
        .to_owned();
    let second = counter_token(&app, "desk-7", 8).await;
    let other = counter_token(&app, "desk-8", 8).await;
    let (ok, out) = counter_cli(&app, &["list"]);
    assert!(ok, "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("/counter/desk-7"))
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.contains(&second.token_id) && out.contains(&other.token_id),
        "{out}"
    );
    assert!(!out.contains(&token), "the list never shows a token: {out}");
    // Times for people: ISO 8601 in China Standard Time, never Unix seconds.
    let expires = second.expires_at.expect("expires").seconds;
    assert!(out.contains(&china_time(expires)), "{out}");
    assert!(!out.contains(&expires.to_string()), "{out}");
    // For scripts: the answer with its proto field names, defaults included.
    let (ok, out) = counter_cli(&app, &["list", "--json"]);
    assert!(ok, "{out}");
    let listed: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    let rows = listed["counter_tokens"].as_array().expect("counter_tokens");
    let row = rows
        .iter()
        .find(|r| r["token_id"] == second.token_id.as_str())
        .expect("listed");
    assert_eq!(row["expires_at"], china_time(expires));
    assert_eq!(row["reason"], "", "a default field is printed: {row}");
    assert_eq!(row["revoked_at"], serde_json::Value::Null, "{row}");
    assert_eq!(row["counter"], "spiffe://cq.talent/counter/desk-7");

    // The reason is required by the command line too.
    let (ok, out) = counter_cli(&app, &["revoke", "--counter", "desk-7"]);
    assert!(!ok && out.contains("--reason"), "{out}");
    as_counter(&app, &token, &card.card_id)
        .await
        .expect("nothing revoked");

    // Every live token of desk-7, in one command; desk-8 untouched.
    let (ok, out) = counter_cli(
        &app,
        &["revoke", "--counter", "desk-7", "--reason", "laptop stolen"],
    );
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("revoked ")).count(),
        2,
        "{out}"
    );
    assert_revoked(as_counter(&app, &token, &card.card_id).await);
    assert_revoked(as_counter(&app, &second.token, &card.card_id).await);
    as_counter(&app, &other.token, &card.card_id)
        .await
        .expect("desk-8 works");
    // Again: nothing left to revoke, and it says so.
    let (ok, out) = counter_cli(
        &app,
        &["revoke", "--counter", "desk-7", "--reason", "laptop stolen"],
    );
    assert!(
        !ok && out.contains("no live recorded counter token"),
        "{out}"
    );
    // One by id.
    let (ok, out) = counter_cli(&app, &["revoke", &other.token_id, "--reason", "shift over"]);
    assert!(ok, "{out}");
    assert_revoked(as_counter(&app, &other.token, &card.card_id).await);
    let (ok, out) = counter_cli(&app, &["list"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("revoked at").count(), 3, "{out}");
    assert!(out.contains("shift over"), "{out}");
}
both_databases!(the_stolen_laptop_runbook_is_one_command);

/// Waits until `token` is refused by `app`; how long it took.
async fn until_refused(app: &TestApp, token: &str, card_id: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        match as_counter(app, token, card_id).await {
            Ok(()) => {}
            refused => {
                assert_revoked(refused);
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < within,
            "a revoked token still accepted after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_revoked_counter_token_is_refused_on_every_replica(db: Db) {
    let one = TestApp::builder().db(db).config(SECRETS).spawn().await;
    let two = TestApp::builder()
        .replica_of(&one)
        .config(SECRETS)
        .spawn()
        .await;
    let card = own_card(&one, "11010519491231013", "B").await;
    // Each replica accepts what the other issued: one key, sealed in the shared database.
    let a = counter_token(&one, "desk-1", 8).await;
    let b = counter_token(&two, "desk-2", 8).await;
    for app in [&one, &two] {
        for t in [&a, &b] {
            as_counter(app, &t.token, &card.card_id)
                .await
                .expect("accepted");
        }
    }
    assert_eq!(listed(&two, false).await.len(), 2);

    // Revoked at one replica: refused there at once, and at the other within a few of its
    // refreshes (TestApp runs them every 200 ms).
    revoke(&one, &a.token_id, "laptop stolen")
        .await
        .expect("revoked");
    assert_revoked(as_counter(&one, &a.token, &card.card_id).await);
    let took = until_refused(&two, &a.token, &card.card_id, Duration::from_secs(10)).await;
    eprintln!("the other replica refused the revoked token after {took:?}");
    for app in [&one, &two] {
        as_counter(app, &b.token, &card.card_id)
            .await
            .expect("unrevoked token works");
    }
    // And the other way round.
    revoke(&two, &b.token_id, "shift over")
        .await
        .expect("revoked");
    until_refused(&one, &b.token, &card.card_id, Duration::from_secs(10)).await;
    assert_revoked(as_counter(&two, &b.token, &card.card_id).await);
}
both_databases!(a_revoked_counter_token_is_refused_on_every_replica);

/// The key versions before the sealed key used: derived from the key-encryption key.
fn derived_key(kek_b64: &str) -> talent_gateway::credential::CounterTokenKey {
    use base64::Engine;
    let kek: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(kek_b64)
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    talent_gateway::credential::CounterTokenKey::derive(&kek)
}

/// A counter token as versions before the sealed key made it, recorded nowhere.
fn legacy_token(kek_b64: &str, sub: &str, exp: i64) -> String {
    derived_key(kek_b64).sign(&talent_gateway::credential::CounterClaims {
        iss: "urn:cn:500000:talent-card".into(),
        sub: sub.into(),
        iat: crate::fixtures::now() - 60,
        exp,
        jti: uuid::Uuid::new_v4().to_string(),
    })
}

async fn tokens_of_earlier_versions_work_until_they_expire(db: Db) {
    let app = TestApp::builder().db(db).config(SECRETS).spawn().await;
    let card = own_card(&app, "11010519491231014", "B").await;
    let now = crate::fixtures::now();
    let old = legacy_token(KEK_B64, "spiffe://cq.talent/counter/desk-1", now + 3600);
    as_counter(&app, &old, &card.card_id)
        .await
        .expect("a token of an earlier version still works");
    // Until it expires.
    let expired = legacy_token(KEK_B64, "spiffe://cq.talent/counter/desk-1", now - 1);
    let err = as_counter(&app, &expired, &card.card_id)
        .await
        .expect_err("expired");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("expired"), "{}", err.message());
    // Under another key-encryption key it was never ours.
    let foreign = legacy_token(
        "HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=",
        "spiffe://cq.talent/counter/desk-1",
        now + 3600,
    );
    let err = as_counter(&app, &foreign, &card.card_id)
        .await
        .expect_err("foreign");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("not issued by this gateway"),
        "{}",
        err.message()
    );
    // New tokens are signed under the key of their own, not the derived one.
    let new = counter_token(&app, "desk-2", 8).await;
    assert_eq!(
        derived_key(KEK_B64).verify(&new.token, now),
        Err(talent_gateway::credential::CounterTokenError::BadSignature)
    );
    as_counter(&app, &new.token, &card.card_id)
        .await
        .expect("new token works");
    // Not recorded, so not listed and not revocable one by one.
    assert_eq!(listed(&app, true).await.len(), 1);
}
both_databases!(tokens_of_earlier_versions_work_until_they_expire);
