//! Per-caller rate limits: a flooding caller gets RESOURCE_EXHAUSTED with the time to wait,
//! and no other caller (another address, a certificate identity, another identity) notices.

use crate::helpers::{Db, TestApp, health_of};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use talent_gateway::pb;
use talent_gateway::pb::verification_client::VerificationClient;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

/// Public: 2 a second, 5 at once. Identified: 20 a second, 20 at once. Challenges: 1 a
/// second, 3 at once.
const LIMITS: &str = "
[rate_limits]
public_per_second = 2
public_burst = 5
identified_per_second = 20
identified_burst = 20
challenge_per_second = 1
challenge_burst = 3
";

const PUBLIC_REFUSAL: &str = "rate limit: at most 2 units of work per second (burst 5) for \
     public callers from one address";
const IDENTIFIED_REFUSAL: &str = "rate limit: at most 20 units of work per second (burst 20) for \
     callers with one certificate identity";
const CHALLENGE_REFUSAL: &str =
    "rate limit: at most 1 calls per second (burst 3) for CreateChallenge from one caller";

/// A channel without a certificate from `local`, a loopback address of this host.
async fn public_from(app: &TestApp, local: &str) -> Channel {
    app.endpoint(None, &app.certs)
        .expect("endpoint")
        .local_address(Some(local.parse::<IpAddr>().expect("ip")))
        .connect()
        .await
        .expect("connect")
}

async fn challenge(client: &mut VerificationClient<Channel>) -> Result<(), Status> {
    client
        .create_challenge(pb::CreateChallengeRequest {})
        .await
        .map(|r| assert!(!r.into_inner().nonce.is_empty()))
}

/// One cheap call of one unit: a verdict on garbage.
async fn verify(client: &mut VerificationClient<Channel>) -> Result<(), Status> {
    client
        .verify_card(pb::VerifyCardRequest {
            credential: "not a token".into(),
            ..Default::default()
        })
        .await
        .map(|r| assert_eq!(r.into_inner().reason, "MALFORMED"))
}

/// The wait a refusal asks for, after checking it is a rate-limit refusal that says `limit`
/// and carries the same wait in `retry-after-ms` and in RetryInfo.
#[track_caller]
fn retry_after(status: &Status, limit: &str) -> Duration {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().starts_with(limit) && status.message().contains("; retry after "),
        "{status:?}"
    );
    let ms: u64 = status
        .metadata()
        .get("retry-after-ms")
        .expect("retry-after-ms")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("milliseconds");
    assert!(status.message().ends_with(&format!("retry after {ms} ms")));
    let info = status.get_details_retry_info().expect("RetryInfo");
    assert_eq!(info.retry_delay, Some(Duration::from_millis(ms)));
    assert!(
        (1..=1000).contains(&ms),
        "{ms} ms: one token at 1, 2 or 20 a second"
    );
    Duration::from_millis(ms)
}

/// Calls `n` times back to back: how many got through, the last refusal, and how long it took.
async fn flood(
    client: &mut VerificationClient<Channel>,
    n: usize,
) -> (usize, Option<Status>, Duration) {
    let start = Instant::now();
    let mut ok = 0;
    let mut refused = None;
    for _ in 0..n {
        match verify(client).await {
            Ok(()) => ok += 1,
            Err(s) => refused = Some(s),
        }
    }
    (ok, refused, start.elapsed())
}

/// At most the burst plus what refilled meanwhile (and one for rounding).
#[track_caller]
fn within_limit(ok: usize, burst: usize, per_second: f64, elapsed: Duration) {
    let most = burst + (per_second * elapsed.as_secs_f64()).ceil() as usize + 1;
    assert!(
        (burst..=most).contains(&ok),
        "{ok} calls got through in {elapsed:?}; expected {burst} to {most}"
    );
}

async fn challenge_rows(app: &TestApp) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("database");
    sqlx::query_scalar("SELECT COUNT(*) FROM holder_challenges")
        .fetch_one(&mut c)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_caller_is_limited_and_no_one_else_is() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(LIMITS)
        .spawn()
        .await;

    // 1. A public caller from 127.0.0.1 floods: the burst gets through, the rest is refused.
    let mut limited = VerificationClient::new(public_from(&app, "127.0.0.1").await);
    let (ok, refused, elapsed) = flood(&mut limited, 50).await;
    within_limit(ok, 5, 2.0, elapsed);
    retry_after(&refused.expect("refused past the burst"), PUBLIC_REFUSAL);

    // 2. Meanwhile another address and a counter get their whole bursts.
    let mut other = VerificationClient::new(public_from(&app, "127.0.0.2").await);
    for _ in 0..5 {
        verify(&mut other).await.expect("another address");
    }
    let mut counter = app.verification().await;
    for _ in 0..10 {
        verify(&mut counter).await.expect("a counter");
    }

    // 4. Health is never limited: far more checks than the address's bucket holds.
    let from_limited = public_from(&app, "127.0.0.1").await;
    for _ in 0..30 {
        assert_eq!(
            health_of(from_limited.clone(), "").await,
            ServingStatus::Serving
        );
    }

    // 3. The limited caller is refused until the wait it was told, then served.
    let mut wait = None;
    for _ in 0..20 {
        match verify(&mut limited).await {
            Ok(()) => {}
            Err(s) => {
                wait = Some(retry_after(&s, PUBLIC_REFUSAL));
                break;
            }
        }
    }
    let wait = wait.expect("still limited after 20 more calls");
    tokio::time::sleep(wait).await;
    verify(&mut limited)
        .await
        .expect("served after the retry time");

    // 5. Each certificate identity has its own bucket, whatever its address.
    let (ok, refused, elapsed) = flood(&mut counter, 60).await;
    // The counter had used 10 of its 20 above; some or all have refilled since.
    let most = 20 + (20.0 * elapsed.as_secs_f64()).ceil() as usize + 1;
    assert!((10..=most).contains(&ok), "{ok} in {elapsed:?}");
    retry_after(
        &refused.expect("refused past the burst"),
        IDENTIFIED_REFUSAL,
    );
    for role in ["operator", "partner"] {
        let mut client = VerificationClient::new(app.channel(Some(role)).await);
        for _ in 0..20 {
            verify(&mut client).await.expect(role);
        }
    }

    // 6. The server serves on (a fresh address: `other` spent its burst above, and how much
    // of it has refilled since depends on how fast this machine ran the steps between).
    let mut fresh = VerificationClient::new(public_from(&app, "127.0.0.3").await);
    verify(&mut fresh).await.expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_have_buckets_of_their_own_and_write_nothing() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(LIMITS)
        .spawn()
        .await;
    let mut client = VerificationClient::new(public_from(&app, "127.0.0.1").await);
    let start = Instant::now();
    let mut ok = 0;
    let mut refused = None;
    for _ in 0..20 {
        match challenge(&mut client).await {
            Ok(()) => ok += 1,
            Err(s) => refused = Some(s),
        }
    }
    within_limit(ok, 3, 1.0, start.elapsed());
    retry_after(&refused.expect("refused past the burst"), CHALLENGE_REFUSAL);
    // The same address's ordinary bucket is untouched: its whole burst of verdicts.
    for _ in 0..5 {
        verify(&mut client)
            .await
            .expect("verdicts from the same address");
    }
    // A challenge writes no row: the nonce carries its expiry under an HMAC.
    assert_eq!(challenge_rows(&app).await, 0);
}

/// A VerifyCards call is charged one unit per credential: two calls of 256 from one address
/// do not fit a burst of 300, and a counter is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_charged_per_credential() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(
            "[rate_limits]\npublic_per_second = 1\npublic_burst = 300\n\
         identified_per_second = 1\nidentified_burst = 300\n",
        )
        .spawn()
        .await;
    let calls = || pb::VerifyCardsRequest {
        requests: (0..256)
            .map(|_| pb::VerifyCardRequest {
                credential: "not a token".into(),
                ..Default::default()
            })
            .collect(),
    };
    let mut public = VerificationClient::new(public_from(&app, "127.0.0.1").await);
    let first = public.verify_cards(calls()).await.expect("256 of 300 fit");
    assert_eq!(first.into_inner().verdicts.len(), 256);
    let second = public.verify_cards(calls()).await.expect_err("44 left");
    assert_eq!(second.code(), Code::ResourceExhausted, "{second:?}");
    assert!(
        second.message().contains("this call carries 256"),
        "{second:?}"
    );
    // The refused call took only the unit the layer takes before reading a body: 43 left.
    for _ in 0..43 {
        verify(&mut public)
            .await
            .expect("what is left of the burst");
    }
    let too_many = public.verify_cards(calls()).await.expect_err("empty");
    assert_eq!(too_many.code(), Code::ResourceExhausted);
    // Another identity's bucket is its own.
    let mut counter = app.verification().await;
    let theirs = counter
        .verify_cards(calls())
        .await
        .expect("the counter's own 300");
    assert_eq!(theirs.into_inner().verdicts.len(), 256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_can_be_switched_off() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config("[rate_limits]\nenabled = false\npublic_per_second = 1\npublic_burst = 1\n")
        .spawn()
        .await;
    let mut client = VerificationClient::new(app.channel(None).await);
    let (ok, refused, _) = flood(&mut client, 10).await;
    assert_eq!((ok, refused.map(|s| s.code())), (10, None));
}

/// Bad counter tokens are refused as UNAUTHENTICATED, but first charged to the address that
/// sends them: a flood of them is limited like any other, and so are its audit records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_counter_tokens_is_charged_to_its_address() {
    use sqlx::Connection;
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(LIMITS)
        .spawn()
        .await;
    let mut client = VerificationClient::new(public_from(&app, "127.0.0.1").await);
    let start = Instant::now();
    let (mut unauthenticated, mut limited) = (0, 0);
    for _ in 0..40 {
        let mut req = tonic::Request::new(pb::VerifyCardRequest {
            credential: "not a token".into(),
            ..Default::default()
        });
        req.metadata_mut()
            .insert("authorization", "Bearer forged".parse().expect("header"));
        match client.verify_card(req).await.map_err(|s| s.code()) {
            Err(Code::Unauthenticated) => unauthenticated += 1,
            Err(Code::ResourceExhausted) => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    within_limit(unauthenticated, 5, 2.0, start.elapsed());
    assert_eq!(unauthenticated + limited, 40);
    // Another address is untouched.
    let mut other = VerificationClient::new(public_from(&app, "127.0.0.2").await);
    verify(&mut other).await.expect("another address");
    // One audit record per refusal that got past the limit, none for the rest.
    let mut db = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("database");
    let mut denied = 0i64;
    for _ in 0..50 {
        denied = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE result = 'denied'")
            .fetch_one(&mut db)
            .await
            .expect("count");
        if denied >= unauthenticated as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(denied, unauthenticated as i64);
}
