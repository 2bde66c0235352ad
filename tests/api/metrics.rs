//! Prometheus metrics on their own plain-HTTP port.

use crate::both_databases;
use crate::fixtures::{id_number, issue_request};
use crate::helpers::{Db, TestApp, issued, verify};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

/// One plain HTTP/1.1 request; the status line and the body.
async fn get(addr: &str, path: &str) -> (String, String) {
    let (head, body) = get_with_head(addr, path).await;
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// One plain HTTP/1.1 request; the whole head and the body.
async fn get_with_head(addr: &str, path: &str) -> (String, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    (head.to_owned(), body.to_owned())
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("number"))
}

/// Where the metrics listener bound, from its log line (`metrics_listen` on port 0): the
/// line is on stderr, read apart from the readiness line, so it may come a moment later.
async fn metrics_addr(app: &TestApp) -> String {
    for _ in 0..200 {
        let logs = app.logs();
        let line = logs
            .lines()
            .find(|l| l.contains("serving Prometheus metrics"))
            .map(strip_ansi);
        if let Some(addr) = line.as_deref().and_then(|l| l.split_once("local=")) {
            return addr
                .1
                .split_whitespace()
                .next()
                .expect("address")
                .to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no metrics address logged:\n{}", app.logs());
}

/// `line` without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, ended by a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn metrics_count_calls_and_verdicts(db: Db) {
    // A federated partner that never answers: its trust data is stale from the start.
    let partner = tempfile::tempdir().expect("tempdir");
    let partner_ca = partner.path().join("certs");
    talent_gateway::dev_certs::generate_for(&partner_ca, "my.talent", "cq.talent", "mianyang")
        .expect("partner certs");
    let config = format!(
        "metrics_listen = \"127.0.0.1:0\"\n\
         [[partners]]\n\
         id = \"mianyang\"\n\
         profile = \"science-city-card-v1\"\n\
         issuer = \"urn:cn:510700:kjc-talent-card\"\n\
         federation_endpoint = \"https://127.0.0.1:9\"\n\
         client_ca = \"{}\"\n\
         spiffe_id = \"spiffe://my.talent/partner/mianyang\"\n",
        partner_ca.join("ca.pem").display()
    );
    let app = TestApp::builder().db(db).config(&config).spawn().await;
    let metrics = metrics_addr(&app).await;
    let id = id_number("50010419850312001");
    let card = issued(&app, issue_request(&id, "C", "metrics-1")).await;
    for _ in 0..3 {
        assert_eq!(verify(&app, &card.token).await.reason, "OK");
    }
    for _ in 0..2 {
        assert_eq!(verify(&app, "not-a-token").await.reason, "MALFORMED");
    }
    let refused = app
        .issuance(Some("counter"))
        .await
        .issue_card(issue_request(&id, "C", "metrics-2"))
        .await
        .expect_err("a counter may not issue");
    assert_eq!(refused.code(), Code::PermissionDenied);

    let (head, text) = get_with_head(&metrics, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    // OpenMetrics text, as prometheus-client encodes it, ending with its EOF marker.
    assert!(
        head.contains(
            "\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"
        ),
        "{head}"
    );
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    let verify_rpc = "rpc=\"/talentcard.v1.Verification/VerifyCard\"";
    let issue_rpc = "rpc=\"/talentcard.v1.CardIssuance/IssueCard\"";
    let want = [
        (
            format!("talent_gateway_requests_total{{{verify_rpc},code=\"OK\"}}"),
            5.0,
        ),
        (
            format!("talent_gateway_requests_total{{{issue_rpc},code=\"OK\"}}"),
            1.0,
        ),
        (
            format!("talent_gateway_requests_total{{{issue_rpc},code=\"PERMISSION_DENIED\"}}"),
            1.0,
        ),
        (
            format!("talent_gateway_request_duration_seconds_count{{{verify_rpc}}}"),
            5.0,
        ),
        (
            format!("talent_gateway_request_duration_seconds_bucket{{le=\"+Inf\",{verify_rpc}}}"),
            5.0,
        ),
        (
            format!("talent_gateway_request_duration_seconds_count{{{issue_rpc}}}"),
            2.0,
        ),
        (
            "talent_gateway_verdicts_total{reason=\"OK\"}".to_owned(),
            3.0,
        ),
        (
            "talent_gateway_verdicts_total{reason=\"MALFORMED\"}".to_owned(),
            2.0,
        ),
        (
            "talent_gateway_verdicts_total{reason=\"EXPIRED\"}".to_owned(),
            0.0,
        ),
        ("talent_gateway_audit_dropped_total".to_owned(), 0.0),
        (
            "talent_gateway_partner_stale{partner=\"mianyang\"}".to_owned(),
            1.0,
        ),
        (
            "talent_gateway_partner_bundle_sequence{partner=\"mianyang\"}".to_owned(),
            0.0,
        ),
        (
            format!(
                "talent_gateway_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
            1.0,
        ),
    ];
    for (series, value) in want {
        assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
    }
    let max = sample(&text, "talent_gateway_db_pool_max").expect("pool max");
    let idle = sample(&text, "talent_gateway_db_pool_connections{state=\"idle\"}").expect("idle");
    let busy = sample(
        &text,
        "talent_gateway_db_pool_connections{state=\"in_use\"}",
    )
    .expect("in use");
    assert!(max >= 1.0 && idle + busy <= max, "{text}");
    // No personal data: not the card number, the name, the ID number or the caller.
    for secret in [
        card.card_id.as_str(),
        "张政昊",
        id.as_str(),
        "spiffe://",
        &card.token,
    ] {
        assert!(!text.contains(secret), "{secret} in the scrape");
    }

    // Never refreshed: no age to tell.
    assert!(
        !text.contains("talent_gateway_partner_bundle_age_seconds{"),
        "{text}"
    );

    let (status, _) = get(&metrics, "/").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(app.logs().contains("Prometheus metrics"), "{}", app.logs());
}
both_databases!(metrics_count_calls_and_verdicts);

/// Without `metrics_listen` nothing listens besides gRPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_by_default() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    assert!(!app.logs().contains("Prometheus metrics"), "{}", app.logs());
}
