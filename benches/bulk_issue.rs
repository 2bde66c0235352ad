//! Bulk issuance: re-issuing all of Chongqing's ~43,000 holders through IssueCards over TLS,
//! durably stored. Targets (issue 3): at most 10 s on SQLite, 20 s on PostgreSQL.
//! Reported beside raw Ed25519 signing measured in the same run, since these machines drift.
//!
//!     cargo bench --bench bulk_issue                     (SQLite)
//!     BENCH_DATABASE_URL=postgres://... cargo bench --bench bulk_issue   (and PostgreSQL)
//!     cargo bench --bench bulk_issue -- --sm2            (SM2 cards, beside raw SM2 signing)

#[path = "../tests/common/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
#[path = "../tests/api/helpers.rs"]
#[allow(dead_code, unused_macros)]
mod helpers;

use fixtures::id_number;
use helpers::{Db, TestApp};
use std::time::Instant;
use talent_gateway::pb;

const HOLDERS: usize = 43_000;
const BATCH: usize = 1_000;

fn raw_sign_rate(sm2: bool) -> f64 {
    let msg = [7u8; 400];
    let n = 20_000;
    let t = Instant::now();
    if sm2 {
        use sm2::dsa::signature::Signer;
        let key = sm2::dsa::SigningKey::from_slice("1234567812345678", &[9; 32]).expect("scalar");
        for _ in 0..n {
            let s: sm2::dsa::Signature = key.sign(std::hint::black_box(&msg));
            std::hint::black_box(s);
        }
    } else {
        use ed25519_dalek::{Signer, SigningKey};
        let key = SigningKey::from_bytes(&[9; 32]);
        for _ in 0..n {
            std::hint::black_box(key.sign(std::hint::black_box(&msg)));
        }
    }
    f64::from(n) / t.elapsed().as_secs_f64()
}

async fn run(db: Db, label: &str, target_s: f64, sm2: bool) {
    let config = if sm2 {
        "signing_algorithm = \"SM2\"\n"
    } else {
        ""
    };
    let app = TestApp::builder().db(db).config(config).spawn().await;
    let mut ops =
        pb::card_issuance_client::CardIssuanceClient::new(app.channel(Some("operator")).await)
            .max_decoding_message_size(64 << 20);
    let rows: Vec<pb::IssueCardRequest> = (0..HOLDERS)
        .map(|i| pb::IssueCardRequest {
            holder_name: format!("持卡人{i}"),
            id_number: id_number(&format!(
                "500104{:08}{:03}",
                19_700_101 + i / 1000,
                i % 1000
            )),
            tier: ["A", "B", "C", "D", "E", "F"][i % 6].into(),
            category: "engineering".into(),
            valid_days: 365,
            holder_public_key: Vec::new(),
            idempotency_key: format!("bulk-{i}"),
        })
        .collect();
    let sign_before = raw_sign_rate(sm2);
    let t = Instant::now();
    let mut issued = 0usize;
    for chunk in rows.chunks(BATCH) {
        let results = ops
            .issue_cards(pb::IssueCardsRequest {
                cards: chunk.to_vec(),
            })
            .await
            .expect("IssueCards")
            .into_inner()
            .results;
        issued += results
            .iter()
            .filter(|r| matches!(r.outcome, Some(pb::issue_cards_result::Outcome::Card(_))))
            .count();
    }
    let secs = t.elapsed().as_secs_f64();
    let sign_after = raw_sign_rate(sm2);
    assert_eq!(issued, HOLDERS, "every holder got a card");
    let rate = HOLDERS as f64 / secs;
    let sign = (sign_before + sign_after) / 2.0;
    println!(
        "{label:<10} {HOLDERS} cards in {secs:>5.2} s (target {target_s} s, {:.2} of it): \
         {rate:>7.0} cards/s; raw {} sign {sign:>7.0}/s; ratio issue/sign {:.3}",
        secs / target_s,
        if sm2 { "SM2" } else { "Ed25519" },
        rate / sign
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sm2 = std::env::args().any(|a| a == "--sm2");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        run(Db::Sqlite, "sqlite", 10.0, sm2).await;
        if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
            run(Db::Postgres(url), "postgres", 20.0, sm2).await;
        } else {
            println!("postgres   skipped: set BENCH_DATABASE_URL=postgres://... to measure it");
        }
    });
}
