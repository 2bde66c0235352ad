//! The audit log: append-only in the database, hash-chained, checked by `audit verify`.

use crate::both_databases;
use crate::helpers::{Db, TestApp, own_card};
use sqlx::Connection;
use talent_gateway::pb;

/// Runs one statement straight on the database, as someone with database access would.
async fn exec(url: &str, sql: &'static str) -> Result<(), sqlx::Error> {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    }
}

pub(crate) fn audit_verify(database_url: &str) -> (bool, String) {
    crate::helpers::cli(&["audit", "verify", "--database-url", database_url])
}

async fn the_audit_chain_shows_tampering(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let card = own_card(&app, "50010419700101010", "C").await;
    ops.revoke_card(pb::RevokeCardRequest {
        card_id: card.card_id.clone(),
        reason: "test".into(),
    })
    .await
    .expect("revoked");
    crate::helpers::verify(&app, &card.token).await;
    assert_eq!(app.terminate().code(), Some(0));
    let url = app.database_url.clone();
    let (ok, text) = audit_verify(&url);
    assert!(ok, "{text}");
    assert!(text.contains("intact"), "{text}");

    // The database itself refuses changes to audit records.
    let refused = exec(
        &url,
        "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2",
    )
    .await;
    assert!(refused.is_err(), "audit records must be append-only");
    let refused = exec(&url, "DELETE FROM audit_log WHERE seq = 2").await;
    assert!(refused.is_err(), "audit records must not be deletable");

    // Someone with the power to drop the guard changes a record: the check names it.
    let drop = if url.starts_with("sqlite") {
        "DROP TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_update ON audit_log"
    };
    exec(&url, drop).await.expect("drop trigger");
    exec(
        &url,
        "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2",
    )
    .await
    .expect("tamper");
    let (ok, text) = audit_verify(&url);
    assert!(!ok);
    assert!(text.contains("broken at record 2"), "{text}");
}
both_databases!(the_audit_chain_shows_tampering);
