//! The runbook's backup and restore of the embedded database, done as an operator would.

use crate::audit::audit_verify;
use crate::helpers::{Db, TestApp, cli, own_card};
use talent_gateway::pb;
use tonic::Code;

fn backup(args: &[&str]) -> (bool, String) {
    cli(&[&["backup"], args].concat())
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_cards_redemptions_and_the_audit_chain() {
    let mut app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let kept = own_card(&app, "50010419900101001", "B").await;
    let mut counter = app.entitlements(Some("counter")).await;
    let redeem = pb::RedeemServiceRequest {
        credential: kept.token.clone(),
        service_code: "CQ12".into(),
        idempotency_key: "before-backup".into(),
        holder_proof: String::new(),
        ..Default::default()
    };
    let original = counter
        .redeem_service(redeem.clone())
        .await
        .expect("redeemed")
        .into_inner();

    let db_file = app.database_url.trim_start_matches("sqlite://").to_owned();
    let copy = app.dir.path().join("backup.db");
    let copy_arg = copy.to_str().expect("path");
    let (ok, text) = backup(&["--database-url", &app.database_url, "--out", copy_arg]);
    assert!(ok, "{text}");
    assert!(text.contains("audit chain intact"), "{text}");
    let (ok, text) = backup(&["--database-url", &app.database_url, "--out", copy_arg]);
    assert!(!ok && text.contains("exists already"), "{text}");
    let (ok, text) = backup(&[
        "--database-url",
        "postgres://x@127.0.0.1/y",
        "--out",
        "/tmp/n",
    ]);
    assert!(!ok && text.contains("pg_dump"), "{text}");

    // After the backup: a card the restore will not know.
    let later = own_card(&app, "50010419900101002", "C").await;

    // Restore: stop, put the copy in place (without the old WAL), start.
    assert_eq!(app.terminate().code(), Some(0));
    std::fs::copy(&copy, &db_file).expect("restore the copy");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_file}{suffix}"));
    }
    app.restart_in_place();

    let mut issuance = app.issuance(Some("operator")).await;
    let got = issuance
        .get_card(pb::GetCardRequest {
            card_id: kept.card_id.clone(),
        })
        .await
        .expect("the card from before the backup")
        .into_inner();
    assert_eq!(got.card.expect("card").card_id, kept.card_id);
    let missing = issuance
        .get_card(pb::GetCardRequest {
            card_id: later.card_id.clone(),
        })
        .await
        .expect_err("issued after the backup");
    assert_eq!(missing.code(), Code::NotFound);
    let mut counter = app.entitlements(Some("counter")).await;
    let again = counter
        .redeem_service(redeem)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        (again.redemption_id, again.remaining),
        (original.redemption_id, original.remaining),
        "the restored redemption answers its retry"
    );
    let (ok, text) = audit_verify(&app.database_url);
    assert!(ok, "{text}");
}
