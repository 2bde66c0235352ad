//! Redemptions per second at counters: each a durable, exactly-once write with its quota
//! check, over gRPC and TLS with 64 calls in flight. Target (issue 5): at least 2,000/s on
//! SQLite and on PostgreSQL. Reported beside raw Ed25519 verification in the same run (every
//! redemption verifies the card first).
//!
//!     cargo bench --bench redeem
//!     BENCH_DATABASE_URL=postgres://... cargo bench --bench redeem

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code, unused_macros)]
mod helpers;

use helpers::{Db, TestApp, id_number};
use std::time::Instant;
use talent_gateway::pb;

const CARDS: usize = 2_000;
const PER_CARD: usize = 5;
const IN_FLIGHT: usize = 64;
const CONNECTIONS: usize = 8;

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
    let app = TestApp::spawn(db).await;
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
    // Airport / rail priority: 6 per year, counted; five uses per card.
    let work: Vec<(String, String)> = (0..PER_CARD)
        .flat_map(|k| {
            tokens
                .iter()
                .enumerate()
                .map(move |(i, t)| (t.clone(), format!("bench-{i}-{k}")))
        })
        .collect();
    let work = std::sync::Arc::new(work);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(app.channel(Some("counter")).await);
    }
    let verify_before = raw_verify_rate();
    let t = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let mut c =
                pb::entitlements_client::EntitlementsClient::new(channels[i % CONNECTIONS].clone());
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                let mut ok = 0usize;
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((token, key)) = work.get(n) else {
                        break ok;
                    };
                    let r = c
                        .redeem_service(pb::RedeemServiceRequest {
                            credential: token.clone(),
                            service_code: "CQ12".into(),
                            idempotency_key: key.clone(),
                            holder_proof: String::new(),
                        })
                        .await;
                    if r.is_ok() {
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
    let secs = t.elapsed().as_secs_f64();
    let verify = (verify_before + raw_verify_rate()) / 2.0;
    assert_eq!(ok, work.len(), "every redemption succeeded");
    let rate = ok as f64 / secs;
    println!(
        "{label:<10} {ok} redemptions in {secs:>5.2} s: {rate:>6.0}/s (target 2000/s, {:.2}x); \
         raw Ed25519 verify {verify:>6.0}/s; ratio redeem/verify {:.3}",
        rate / 2000.0,
        rate / verify
    );
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
