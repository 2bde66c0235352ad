//! The counter page in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (tests/browser/counter.test.mjs) against a gateway started here.
//!
//! Without Chromium, Node.js or tests/browser's node_modules a plain `cargo test` skips it and
//! says so on the terminal; under REQUIRE_BROWSER_TEST (tests/run) that is a failure.
//! SKIP_BROWSER_TEST=1 skips it on purpose.

use crate::counter_token::counter_token_from_cli;
use crate::helpers::{Db, TestApp, not_run, own_card};
use crate::mianyang::Mianyang;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use talent_gateway::pb;

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where screenshots go: target/browser (beside the test binaries' target/tmp).
fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser")
}

/// Runs `node args` in tests/browser with `env`; panics with its output unless it succeeds.
fn node(args: &[&str], env: &[(&str, String)]) {
    let mut child = Command::new("node")
        .args(args)
        .current_dir(browser_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): apt-get install nodejs"));
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            assert!(status.success(), "node {args:?} failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node {args:?} did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What this test needs that this machine lacks, with the command that gets it.
fn missing_prerequisite(chromium: &str) -> Option<String> {
    if !Path::new(chromium).exists() {
        return Some(format!("{chromium} is missing (apt-get install chromium)"));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node is missing (apt-get install nodejs)".into());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some(
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into(),
        );
    }
    None
}

/// A one-frame Y4M video of `payload` as a QR code, for Chromium's fake camera.
fn qr_video(payload: &str, out: &Path) {
    use qrcode::{Color, EcLevel, QrCode};
    const SCALE: usize = 4;
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L).expect("fits");
    let width = code.width();
    let colors = code.to_colors();
    // Even sides for 4:2:0, the code centred with a wide quiet zone.
    let side = ((width + 16) * SCALE + 1) & !1;
    let offset = (side - width * SCALE) / 2;
    let mut luma = vec![235u8; side * side];
    for y in 0..width * SCALE {
        for x in 0..width * SCALE {
            if colors[(y / SCALE) * width + x / SCALE] == Color::Dark {
                luma[(y + offset) * side + x + offset] = 16;
            }
        }
    }
    let mut file =
        format!("YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    file.extend_from_slice(&luma);
    file.extend(std::iter::repeat_n(128u8, 2 * (side / 2) * (side / 2)));
    std::fs::write(out, file).expect("write y4m");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_verifies_and_redeems_in_chromium() {
    let Some(chromium) = browser_or_skip(
        "the browser test (a_counter_verifies_and_redeems_in_chromium passes without running)",
    ) else {
        return;
    };
    // With the partner configured, so that a visitor's card is shown too.
    let partner_dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(partner_dir.path());
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;
    let visitor = format!("KJC1:{}", my.token(&Mianyang::claims("E")));
    let card = own_card(&app, "11010519491231006", "B").await;
    let token = counter_token_from_cli(&app, "desk-1");
    let port = app.addr.rsplit(':').next().expect("port");
    // The page's generated code first, under Node: its bytes, and its gRPC-Web client
    // against this gateway (trusting the development CA).
    node(
        &["--test", "proto.test.mjs"],
        &[
            ("GATEWAY_URL", format!("https://127.0.0.1:{port}/")),
            ("CARD_PAYLOAD", card.qr_payload.clone()),
            ("CARD_ID", card.card_id.clone()),
            (
                "NODE_EXTRA_CA_CERTS",
                app.certs.join("ca.pem").display().to_string(),
            ),
        ],
    );
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let camera = partner_dir.path().join("card.y4m");
    qr_video(&card.qr_payload, &camera);
    node(
        &["counter.test.mjs"],
        &[
            ("GATEWAY_URL", format!("https://127.0.0.1:{port}/")),
            ("CARD_PAYLOAD", card.qr_payload.clone()),
            ("CARD_ID", card.card_id.clone()),
            ("HOLDER_NAME", card.holder_name.clone()),
            ("VISITOR_PAYLOAD", visitor),
            ("COUNTER_TOKEN", token),
            ("FAKE_CAMERA", camera.display().to_string()),
            ("SCREENSHOT_DIR", shots.display().to_string()),
            ("CHROMIUM", chromium),
        ],
    );
    assert!(shots.join("verdict.png").exists());

    // The browser's double-click made one redemption, its retried click one: three in all,
    // then the annuity's 5,000 yuan and the youth station's 10 days; all by desk-1.
    let listed = app
        .entitlements(Some("counter"))
        .await
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card.card_id,
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .redemptions;
    let mut codes: Vec<&str> = listed.iter().map(|r| r.service_code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        ["CQ10", "CQ12", "CQ12", "CQ16", "CQ17"],
        "{listed:?}"
    );
    let drawn: Vec<(&str, i64, u32)> = listed
        .iter()
        .filter(|r| r.unit != "uses")
        .map(|r| (r.unit.as_str(), r.amount_yuan, r.days))
        .collect();
    assert!(drawn.contains(&("yuan", 5_000, 0)), "{listed:?}");
    assert!(drawn.contains(&("days", 0, 10)), "{listed:?}");
    for r in &listed {
        assert_eq!(r.counter, "spiffe://cq.talent/counter/desk-1");
    }
}

/// The browser prerequisites, or why the browser test is not run (and whether that fails).
fn browser_or_skip(what: &'static str) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    let required = std::env::var_os("REQUIRE_BROWSER_TEST").is_some();
    let skipped = if std::env::var("SKIP_BROWSER_TEST").as_deref() == Ok("1") {
        Some("SKIP_BROWSER_TEST=1".to_owned())
    } else {
        missing_prerequisite(&chromium)
    };
    match skipped {
        Some(why) => {
            assert!(!required, "REQUIRE_BROWSER_TEST is set but {why}");
            not_run(what, &why);
            None
        }
        None => Some(chromium),
    }
}

/// The page online keeps the gateway's offline bundle; with the gateway killed it decides the
/// same cards from it with the reasons the gateway gave, says so, and redeems nothing. Then the
/// shared vectors (tests/vectors, when there) and a bundle made in Node, in the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_verifies_offline_in_chromium() {
    offline_in_chromium(
        "",
        "the offline browser test (the_counter_verifies_offline_in_chromium passes without running)",
    )
    .await;
}

/// The same with an SM2 gateway: its cards and its bundle are checked in the browser by the
/// vendored sm-crypto, an implementation written elsewhere than the gateway's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sm2_counter_verifies_offline_in_chromium() {
    offline_in_chromium(
        "signing_algorithm = \"SM2\"\n",
        "the SM2 offline browser test (an_sm2_counter_verifies_offline_in_chromium passes without running)",
    )
    .await;
}

async fn offline_in_chromium(config: &str, what: &'static str) {
    let Some(chromium) = browser_or_skip(what) else {
        return;
    };
    let partner_dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(partner_dir.path());
    let mut app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&format!("{config}{}", my.config()))
        .spawn()
        .await;
    let visitor = format!("KJC1:{}", my.token(&Mianyang::claims("E")));
    let valid = own_card(&app, "11010519491231006", "B").await;
    let revoked = own_card(&app, "11010519491231014", "C").await;
    let suspended = own_card(&app, "11010519491231022", "A").await;
    let mut ops = app.issuance(Some("operator")).await;
    ops.revoke_card(pb::RevokeCardRequest {
        card_id: revoked.card_id.clone(),
        reason: "left the region".into(),
    })
    .await
    .expect("revoked");
    ops.suspend_card(pb::SuspendCardRequest {
        card_id: suspended.card_id.clone(),
        reason: "under review".into(),
    })
    .await
    .expect("suspended");
    // A forged signature on a real card: the last signature character changed.
    let forged = {
        let mut t = valid.qr_payload.clone();
        let last = t.pop().expect("not empty");
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    let cards = serde_json::json!([
        { "name": "own card", "credential": valid.qr_payload, "card_id": valid.card_id },
        { "name": "revoked card", "credential": revoked.qr_payload, "card_id": revoked.card_id },
        { "name": "suspended card", "credential": suspended.qr_payload, "card_id": suspended.card_id },
        { "name": "visitor", "credential": visitor },
        { "name": "forged signature", "credential": forged },
        { "name": "not a card", "credential": "NCTC1:not-a-card" },
    ]);
    let token = counter_token_from_cli(&app, "desk-1");
    let port = app.addr.rsplit(':').next().expect("port").to_owned();
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    node(
        &["offline.test.mjs"],
        &[
            ("GATEWAY_URL", format!("https://127.0.0.1:{port}/")),
            ("GATEWAY_PID", app.pid().to_string()),
            ("CARDS", cards.to_string()),
            ("COUNTER_TOKEN", token),
            ("VECTORS_DIR", vectors.display().to_string()),
            ("SCREENSHOT_DIR", shots.display().to_string()),
            ("CHROMIUM", chromium),
        ],
    );
    assert!(shots.join("offline.png").exists());
    // The driver killed the gateway (and saw no RedeemService leave the page offline).
    let exit = app.wait_exit(Duration::from_secs(10));
    assert!(
        !exit.success(),
        "the gateway was killed, not stopped: {exit:?}"
    );
}
