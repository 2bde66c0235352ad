//! Redemptions per second at counters: each a durable, exactly-once write with its quota
//! check, over gRPC and TLS with 64 calls in flight. Target (issue 5): at least 2,000/s on
//! SQLite and on PostgreSQL. Reported beside raw Ed25519 verification in the same run (every
//! redemption verifies the card first).
//!
//! Then the same counter under hostile load, each ratio against its rate alone in the same
//! run (issue 13):
//! - a CreateChallenge flood from 32 addresses (about 3,200 calls a second): the counter's
//!   redemption rate must stay at or above half its rate alone;
//! - a public flood at the limit (32 addresses at 120 VerifyCard calls a second against a
//!   limit of 100, valid cards and garbage alike) beside a partner sending VerifyCards of 256
//!   credentials back to back: audit rows written per second, and the p99 of a health check
//!   and of a RedeemService during it.
//!
//! ```sh
//! cargo bench --bench redeem
//! BENCH_DATABASE_URL=postgres://... cargo bench --bench redeem
//! ```

#[path = "../tests/common/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
#[path = "../tests/api/helpers.rs"]
#[allow(dead_code, unused_macros)]
mod helpers;

use fixtures::id_number;
use helpers::{Db, TestApp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use talent_gateway::pb;
use tonic::transport::Channel;

const CARDS: usize = 2_000;
const IN_FLIGHT: usize = 64;
const CONNECTIONS: usize = 8;

/// The counter and the partner are not what is limited here; the public and challenge
/// limits are the defaults.
const LIMITS: &str = "[rate_limits]\nidentified_per_second = 1000000000\n\
                      identified_burst = 1000000000\n";

/// Flooding addresses (127.0.0.2 ..), each its own public caller.
const FLOODERS: u8 = 32;

fn raw_verify_rate() -> f64 {
    use ed25519_dalek::{Signer, SigningKey};
    let key = SigningKey::from_bytes(&[9; 32]);
    let msg = [7u8; 400];
    let sig = key.sign(&msg);
    let public = key.verifying_key();
    let n = 10_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(public.verify_strict(std::hint::black_box(&msg), &sig)).ok();
    }
    f64::from(n) / t.elapsed().as_secs_f64()
}

async fn run(db: Db, label: &str) {
    let app = TestApp::builder().db(db).config(LIMITS).spawn().await;
    let mut ops =
        pb::card_issuance_client::CardIssuanceClient::new(app.channel(Some("operator")).await)
            .max_decoding_message_size(64 << 20);
    let rows: Vec<_> = (0..CARDS)
        .map(|i| pb::IssueCardRequest {
            holder_name: format!("持卡人{i}"),
            id_number: id_number(&format!(
                "510704{:08}{:03}",
                19_800_101 + i / 1000,
                i % 1000
            )),
            tier: "B".into(),
            category: "healthcare".into(),
            valid_days: 365,
            holder_public_key: Vec::new(),
            idempotency_key: String::new(),
        })
        .collect();
    let mut tokens = Vec::new();
    for chunk in rows.chunks(1000) {
        for r in ops
            .issue_cards(pb::IssueCardsRequest {
                cards: chunk.to_vec(),
            })
            .await
            .expect("issue")
            .into_inner()
            .results
        {
            if let Some(pb::issue_cards_result::Outcome::Card(c)) = r.outcome {
                tokens.push(c.token);
            }
        }
    }
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(app.channel(Some("counter")).await);
    }
    // Airport / rail priority: 6 per year, counted; uses 1 and 2 of each card alone, 3 and
    // 4 under the challenge flood, 5 under the public flood.
    let verify_before = raw_verify_rate();
    let (ok, secs) = redeem(&channels, &tokens, 0..2, "alone").await;
    let verify = (verify_before + raw_verify_rate()) / 2.0;
    let rate = ok as f64 / secs;
    println!(
        "{label:<10} {ok} redemptions in {secs:>5.2} s: {rate:>6.0}/s (target 2000/s, {:.2}x); \
         raw Ed25519 verify {verify:>6.0}/s; ratio redeem/verify {:.3}",
        rate / 2000.0,
        rate / verify
    );

    // A CreateChallenge flood from many addresses.
    let stop = Arc::new(AtomicBool::new(false));
    let (asked, got) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut flood = Vec::new();
    for i in 0..FLOODERS {
        let channel = from_address(&app, 2 + i).await;
        let (stop, asked, got) = (stop.clone(), asked.clone(), got.clone());
        flood.push(tokio::spawn(async move {
            let mut c = pb::verification_client::VerificationClient::new(channel);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                asked.fetch_add(1, Ordering::Relaxed);
                if c.create_challenge(pb::CreateChallengeRequest {})
                    .await
                    .is_ok()
                {
                    got.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flood_start = Instant::now();
    let (ok_f, secs_f) = redeem(&channels, &tokens, 2..4, "under a challenge flood").await;
    let flood_secs = flood_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        let _ = f.await;
    }
    let rate_f = ok_f as f64 / secs_f;
    let ratio = rate_f / rate;
    println!(
        "{label:<10} under a CreateChallenge flood from {FLOODERS} addresses ({:.0} calls/s, \
         {:.0}/s answered with a nonce): {rate_f:>6.0} redemptions/s, {ratio:.2} of the rate \
         alone (at least 0.5)",
        asked.load(Ordering::Relaxed) as f64 / flood_secs,
        got.load(Ordering::Relaxed) as f64 / flood_secs,
    );
    assert!(
        ratio >= 0.5,
        "a challenge flood halves a counter's redemptions"
    );

    public_flood(&app, label, &channels, &tokens).await;
}

/// A channel without a certificate from 127.0.0.`last`.
async fn from_address(app: &TestApp, last: u8) -> Channel {
    let ip = std::net::IpAddr::from([127, 0, 0, last]);
    app.endpoint(None, &app.certs)
        .expect("endpoint")
        .local_address(Some(ip))
        .connect()
        .await
        .expect("connect")
}

/// Redeems CQ12 with every card, uses `uses` of each, 64 calls in flight: how many
/// succeeded (all must), and in how long.
async fn redeem(
    channels: &[Channel],
    tokens: &[String],
    uses: std::ops::Range<usize>,
    what: &str,
) -> (usize, f64) {
    let work: Vec<(String, String)> = uses
        .flat_map(|k| {
            tokens
                .iter()
                .enumerate()
                .map(move |(i, t)| (t.clone(), format!("bench-{i}-{k}")))
        })
        .collect();
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let mut c =
                pb::entitlements_client::EntitlementsClient::new(channels[i % CONNECTIONS].clone());
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                let mut ok = 0usize;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((token, key)) = work.get(n) else {
                        break ok;
                    };
                    if c.redeem_service(redemption(token, key)).await.is_ok() {
                        ok += 1;
                    }
                }
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += task.await.expect("task");
    }
    assert_eq!(ok, work.len(), "every redemption succeeded ({what})");
    (ok, t.elapsed().as_secs_f64())
}

fn redemption(token: &str, key: &str) -> pb::RedeemServiceRequest {
    pb::RedeemServiceRequest {
        credential: token.to_owned(),
        service_code: "CQ12".into(),
        idempotency_key: key.to_owned(),
        holder_proof: String::new(),
        ..Default::default()
    }
}

/// Public callers at their limit and a partner's full VerifyCards calls, beside a health
/// check and a counter's redemptions: what the audit log takes, and what the others wait.
async fn public_flood(app: &TestApp, label: &str, channels: &[Channel], tokens: &[String]) {
    let stop = Arc::new(AtomicBool::new(false));
    let verdicts = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for i in 0..FLOODERS {
        let channel = from_address(app, 2 + i).await;
        let (stop, verdicts) = (stop.clone(), verdicts.clone());
        let card = tokens[usize::from(i) % tokens.len()].clone();
        load.push(tokio::spawn(async move {
            let mut c = pb::verification_client::VerificationClient::new(channel);
            let mut tick = tokio::time::interval(Duration::from_micros(8_333));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                // Valid cards (a record each) and garbage (counted per minute) alike.
                let credential = if n.is_multiple_of(2) {
                    card.clone()
                } else {
                    "garbage".into()
                };
                let r = pb::VerifyCardRequest {
                    credential,
                    ..Default::default()
                };
                if c.verify_card(r).await.is_ok() {
                    verdicts.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let batch: Vec<pb::VerifyCardRequest> = tokens
        .iter()
        .take(256)
        .map(|t| pb::VerifyCardRequest {
            credential: t.clone(),
            ..Default::default()
        })
        .collect();
    let partner = app.channel(Some("partner")).await;
    {
        let (stop, verdicts) = (stop.clone(), verdicts.clone());
        load.push(tokio::spawn(async move {
            let mut c = pb::verification_client::VerificationClient::new(partner)
                .max_decoding_message_size(64 << 20);
            while !stop.load(Ordering::Relaxed) {
                let r = pb::VerifyCardsRequest {
                    requests: batch.clone(),
                };
                if let Ok(r) = c.verify_cards(r).await {
                    verdicts.fetch_add(r.into_inner().verdicts.len(), Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows_before = audit_rows(app).await;
    let verdicts_before = verdicts.load(Ordering::Relaxed);
    let t = Instant::now();
    let (mut health, mut redeems) = (Vec::new(), Vec::new());
    let mut counter = pb::entitlements_client::EntitlementsClient::new(channels[0].clone());
    let probe = channels[1].clone();
    for (i, token) in tokens.iter().enumerate().take(100) {
        let s = Instant::now();
        helpers::health_of(probe.clone(), "").await;
        health.push(s.elapsed());
        let s = Instant::now();
        counter
            .redeem_service(redemption(token, &format!("bench-{i}-4")))
            .await
            .expect("redeemed during the flood");
        redeems.push(s.elapsed());
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let answered = verdicts.load(Ordering::Relaxed) - verdicts_before;
    // Records are handed to the writer every 100 ms; counts of refusals once a minute.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = audit_rows(app).await - rows_before;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }
    let p99 = |v: &mut Vec<Duration>| {
        v.sort();
        v[(v.len() * 99).div_ceil(100) - 1].as_secs_f64() * 1e3
    };
    println!(
        "{label:<10} public flood at the limit ({FLOODERS} addresses at 120/s, limit 100/s) and \
         a partner's VerifyCards of 256: {:.0} verdicts/s, {:.0} audit rows/s; health p99 \
         {:.1} ms, RedeemService p99 {:.1} ms",
        answered as f64 / secs,
        rows as f64 / (secs + 0.5),
        p99(&mut health),
        p99(&mut redeems),
    );
}

async fn audit_rows(app: &TestApp) -> i64 {
    use sqlx::Connection;
    let q = "SELECT COUNT(*) FROM audit_log";
    if app.database_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&app.database_url)
            .await
            .expect("database");
        sqlx::query_scalar(q)
            .fetch_one(&mut c)
            .await
            .expect("count")
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .expect("database");
        sqlx::query_scalar(q)
            .fetch_one(&mut c)
            .await
            .expect("count")
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        run(Db::Sqlite, "sqlite").await;
        if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
            run(Db::Postgres(url), "postgres").await;
        } else {
            println!("postgres   skipped: set BENCH_DATABASE_URL=postgres://... to measure it");
        }
    });
}
