//! Config that cannot lie (unknown keys stop `serve`; `config check`) and key-encryption
//! key rotation (`key_encryption_keys`, `keys rewrap`), over the real binary.

use crate::both_databases;
use crate::counter_revocation::as_counter;
use crate::helpers::{Db, TestApp, cli, counter_token, own_card, rotate, verify};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const KEK_A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEK_B: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// Runs `serve` with `config`, expecting it to stop by itself: (exit success, output).
fn serve_stops(dir: &Path, database_url: &str, config: &Path) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(config)
        .arg("--tls-cert")
        .arg(dir.join("certs/server.pem"))
        .arg("--tls-key")
        .arg(dir.join("certs/server.key"))
        .arg("--client-ca")
        .arg(dir.join("certs/ca.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start talent-gateway");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn a_misspelt_table_stops_serve(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let bad = app.dir.path().join("misspelt.toml");
    std::fs::write(
        &bad,
        "region = \"chongqing\"\n[rate_limit]\nenabled = false\n[federation]\nstalenes_seconds = 60\n",
    )
    .expect("write");
    let (ok, out) = serve_stops(app.dir.path(), &app.database_url, &bad);
    assert!(!ok, "serve must not start:\n{out}");
    for needed in [
        "unknown table `[rate_limit]`: did you mean `rate_limits`?",
        "unknown key `federation.stalenes_seconds`: did you mean `staleness_seconds`?",
        &bad.display().to_string(),
    ] {
        assert!(out.contains(needed), "{needed:?} missing from:\n{out}");
    }
    assert!(!out.contains("listening on"), "{out}");
    // The gateway it shares the database with was not disturbed.
    let card = own_card(&app, "50010419800101001", "C").await;
    assert_eq!(verify(&app, &card.token).await.reason, "OK");
}
both_databases!(a_misspelt_table_stops_serve);

/// `config check` with `args`, secrets in the environment as a deployment gives them.
fn config_check(config: &Path, database_url: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args(["config", "check", "--config"])
        .arg(config)
        .env(
            "TALENT_GATEWAY_KEY_ENCRYPTION_KEYS",
            format!("[\"new:{KEK_B}\", \"old:{KEK_A}\"]"),
        )
        .env("TALENT_GATEWAY_ID_HASH_SECRET", KEK_A)
        .env("TALENT_GATEWAY_DATABASE_URL", database_url)
        .output()
        .expect("run config check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_shows_the_settings_in_force_without_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "region = \"chongqing\"\nmetrics_listen = \"127.0.0.1:9464\"\n\
         [rate_limits]\nenabled = false\n\
         [federation.service_staleness_seconds]\nCQ05 = 3600\n",
    )
    .expect("write");
    let url = "postgres://talent:db-pass-w0rd@db.internal:5432/talent_gateway?sslmode=verify-full&sslrootcert=/etc/ca.crt";
    let (ok, stdout, stderr) = config_check(&good, url);
    assert!(ok, "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    for secret in [KEK_A, KEK_B, "db-pass-w0rd"] {
        assert!(!all.contains(secret), "a secret is shown:\n{all}");
    }
    for shown in [
        "key_encryption_keys = [\"new:<redacted>\", \"old:<redacted>\"]",
        "id_hash_secret = \"<redacted>\"",
        "postgres://talent:<redacted>@db.internal:5432/talent_gateway?sslmode=verify-full",
        "metrics_listen = \"127.0.0.1:9464\"",
        "enabled = false",
        "CQ05 = 3600",
    ] {
        assert!(stdout.contains(shown), "{shown:?} missing from:\n{stdout}");
    }

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "regoin = \"chongqing\"\n[rate_limit]\nenabled = false\n\
         [federation]\nstaleness_seconds = 600\n\
         [federation.service_staleness_seconds]\nCQ05 = 3600\n",
    )
    .expect("write");
    let (ok, stdout, stderr) = config_check(&bad, url);
    assert!(!ok, "{stdout}{stderr}");
    for problem in [
        "unknown key `regoin`: did you mean `region`?",
        "unknown table `[rate_limit]`: did you mean `rate_limits`?",
        "federation.service_staleness_seconds.CQ05 = 3600 is longer than federation.staleness_seconds = 600",
        "3 problem(s)",
    ] {
        assert!(
            stderr.contains(problem),
            "{problem:?} missing from:\n{stderr}"
        );
    }
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
}

fn write_config(app: &TestApp, text: &str) {
    std::fs::write(app.dir.path().join("gateway.toml"), text).expect("config");
}

fn rewrap(app: &TestApp) -> (bool, String) {
    let config = app.dir.path().join("gateway.toml");
    let data = app.dir.path().join("data");
    cli(&[
        "keys",
        "rewrap",
        "--config",
        config.to_str().expect("utf-8"),
        "--database-url",
        &app.database_url,
        "--data-dir",
        data.to_str().expect("utf-8"),
    ])
}

async fn the_key_encryption_key_is_rotated_without_losing_a_key(db: Db) {
    // KEK A, given the old way (one key).
    let mut app = TestApp::builder()
        .db(db)
        .config(&format!("key_encryption_key = \"{KEK_A}\"\n"))
        .spawn()
        .await;
    let old_card = own_card(&app, "50010419800101002", "C").await;
    assert_eq!(verify(&app, &old_card.token).await.reason, "OK");
    // A counter's session, HMAC'd under the counter-token key that A seals.
    let desk = counter_token(&app, "desk-1", 1).await.token;
    assert!(as_counter(&app, &desk, &old_card.card_id).await.is_ok());
    app.terminate();

    // Ring [B, A]: the old key still opens, and a new signing key is sealed under B.
    write_config(
        &app,
        &format!("key_encryption_keys = [\"b:{KEK_B}\", \"default:{KEK_A}\"]\n"),
    );
    app.restart_in_place();
    assert_eq!(verify(&app, &old_card.token).await.reason, "OK");
    let next = rotate(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mid_card = own_card(&app, "50010419800101003", "C").await;
    assert_eq!(mid_card.key_id, next.key_id);
    app.terminate();

    // The rewrap re-seals the first signing key and the counter-token key (the new signing
    // key is under B already), once.
    let (ok, out) = rewrap(&app);
    assert!(ok, "{out}");
    assert!(
        out.contains("re-sealed 2 sealed keys under key-encryption key b (1 already were)"),
        "{out}"
    );
    assert!(
        out.contains("nothing stored needs default any more"),
        "{out}"
    );
    let (ok, out) = rewrap(&app);
    assert!(ok, "{out}");
    assert!(
        out.contains("re-sealed 0 sealed keys under key-encryption key b (3 already were)"),
        "{out}"
    );
    let (ok, out) = cli(&["audit", "verify", "--database-url", &app.database_url]);
    assert!(ok && out.contains("audit chain intact"), "{out}");

    // A ring that lacks B cannot open what is sealed under it, and says so.
    let a_only = app.dir.path().join("a-only.toml");
    std::fs::write(
        &a_only,
        format!("key_encryption_keys = [\"default:{KEK_A}\"]\n"),
    )
    .expect("write");
    let (ok, out) = serve_stops(app.dir.path(), &app.database_url, &a_only);
    assert!(!ok, "{out}");
    assert!(
        out.contains("sealed under key-encryption key `b`, which is not configured"),
        "{out}"
    );

    // B alone: the gateway starts and signs, and both earlier cards verify.
    write_config(&app, &format!("key_encryption_keys = [\"b:{KEK_B}\"]\n"));
    app.restart_in_place();
    let new_card = own_card(&app, "50010419800101004", "C").await;
    assert_eq!(new_card.key_id, next.key_id);
    for card in [&old_card, &mid_card, &new_card] {
        assert_eq!(verify(&app, &card.token).await.reason, "OK");
    }
    // The counter's session goes on: its key was re-sealed, not replaced.
    assert!(as_counter(&app, &desk, &old_card.card_id).await.is_ok());
}
both_databases!(the_key_encryption_key_is_rotated_without_losing_a_key);

async fn replicas_with_the_new_key_second_open_what_another_seals_under_it(db: Db) {
    // Step 3 of the rollout caught half-way: one replica already seals under B, the other
    // still has B second.
    let behind = TestApp::builder()
        .db(db)
        .config(&format!(
            "key_encryption_keys = [\"a:{KEK_A}\", \"b:{KEK_B}\"]\n"
        ))
        .spawn()
        .await;
    let ahead = TestApp::builder()
        .replica_of(&behind)
        .config(&format!(
            "key_encryption_keys = [\"b:{KEK_B}\", \"a:{KEK_A}\"]\n"
        ))
        .spawn()
        .await;
    let next = rotate(&ahead, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The replica behind opened the key sealed under B at its refresh, so it signs with it.
    let card = own_card(&behind, "50010419800101005", "C").await;
    assert_eq!(card.key_id, next.key_id, "{}", behind.logs());
    for app in [&behind, &ahead] {
        assert_eq!(verify(app, &card.token).await.reason, "OK");
    }
}
both_databases!(replicas_with_the_new_key_second_open_what_another_seals_under_it);
