//! Witnessed audit checkpoints (issue 17): Chongqing signs a checkpoint of its audit chain
//! every second and Mianyang, its federated partner, witnesses it. Someone with Chongqing's
//! database credentials rewrites the chain from a record on, recomputing every hash, and
//! deletes the checkpoints kept there: the chain checks out locally, and `audit verify` still
//! reports the rewrite, because Mianyang holds a later checkpoint.

use crate::both_databases;
use crate::federation::{CQ_ISSUER, MY_ISSUER, issue, two_regions_configured};
use crate::helpers::{Db, TestApp, cli, eventually};
use sqlx::Connection;
use std::time::Duration;
use talent_gateway::credential::{KeyEncryptionKeys, OwnSigningKey, SigningAlgorithm};
use talent_gateway::pb;
use talent_gateway::service::audit_checkpoint::{CHECKPOINT_TYPE, CheckpointClaims, hex};
use talent_gateway::store::{AuditEntry, chain_hash};
use tonic::Code;

/// Chongqing and Mianyang, each the other's federated partner, each signing a checkpoint of
/// its audit chain every second.
async fn two_regions(db: Db) -> (TestApp, TestApp) {
    two_regions_configured(db, "audit_checkpoint_seconds = 1\n", "", "").await
}

/// Mianyang's Federation service as Chongqing's gateway calls it (its server certificate
/// names spiffe://cq.talent/partner/chongqing), or as `role` of Mianyang's own PKI.
async fn at_mianyang(
    my: &TestApp,
    cq: Option<&TestApp>,
    role: &str,
) -> pb::federation_client::FederationClient<tonic::transport::Channel> {
    let pki = cq.map_or(&my.certs, |cq| &cq.certs);
    let channel = my.channel_with(Some(role), pki).await.expect("connect");
    pb::federation_client::FederationClient::new(channel)
}

/// The checkpoints Mianyang witnessed for Chongqing, with their sequences.
async fn witnessed(my: &TestApp, cq: &TestApp) -> Vec<(i64, pb::WitnessedCheckpoint)> {
    at_mianyang(my, Some(cq), "server")
        .await
        .get_witnessed_checkpoints(pb::GetWitnessedCheckpointsRequest { after_sequence: 0 })
        .await
        .expect("GetWitnessedCheckpoints")
        .into_inner()
        .checkpoints
        .into_iter()
        .map(|c| (claims(&c.checkpoint).seq, c))
        .collect()
}

fn claims(jws: &str) -> CheckpointClaims {
    let payload = jws.split('.').nth(1).expect("payload");
    serde_json::from_slice(&talent_gateway::credential::b64_decode(payload).expect("b64"))
        .expect("claims")
}

/// Chongqing's audit head now.
async fn head_seq(url: &str) -> i64 {
    let sql = "SELECT seq FROM audit_head WHERE id = 1";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("db");
        sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .expect("head")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("db");
        sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .expect("head")
    }
}

/// How many countersignatures of `partner` Chongqing keeps.
async fn countersignatures(url: &str, partner: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_checkpoint_witnesses WHERE partner_id = $1";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("db");
        sqlx::query_scalar(sql)
            .bind(partner)
            .fetch_one(&mut c)
            .await
            .expect("count")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("db");
        sqlx::query_scalar(sql)
            .bind(partner)
            .fetch_one(&mut c)
            .await
            .expect("count")
    }
}

/// Chongqing's current signing key, opened as someone holding its secrets could.
async fn cq_key(url: &str) -> OwnSigningKey {
    let sql = "SELECT kid, algorithm, sealed_private_key FROM signing_keys ORDER BY generation DESC LIMIT 1";
    let (kid, alg, sealed): (String, String, Vec<u8>) = if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("db");
        sqlx::query_as(sql).fetch_one(&mut c).await.expect("key")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("db");
        sqlx::query_as(sql).fetch_one(&mut c).await.expect("key")
    };
    let kek = KeyEncryptionKeys::single(std::array::from_fn(|i| i as u8));
    let secret = kek.open(&sealed, &kid).expect("opens");
    OwnSigningKey::from_stored(&alg, &secret).expect("key")
}

/// Rewrites the chain from record `from` on as an attacker with the database's credentials
/// would: drops the guard, changes record `from`, recomputes every later hash so the chain
/// checks out, moves the head, and deletes the checkpoints kept beside it.
macro_rules! rewrite_from {
    ($conn:expr, $from:expr, $drop:expr) => {{
        let c = $conn;
        sqlx::query($drop)
            .execute(&mut *c)
            .await
            .expect("drop trigger");
        let rows: Vec<(i64, i64, String, String, String, String, String, Vec<u8>)> =
            sqlx::query_as(
                "SELECT seq, at, caller, event, object, result, detail, prev_hash FROM audit_log \
                 WHERE seq >= $1 ORDER BY seq",
            )
            .bind($from)
            .fetch_all(&mut *c)
            .await
            .expect("records");
        let mut prev = rows[0].7.clone();
        for (seq, at, caller, event, object, result, detail, _) in rows {
            let detail = if seq == $from {
                "nothing happened here".to_owned()
            } else {
                detail
            };
            let entry = AuditEntry {
                at,
                caller,
                event,
                object,
                result,
                detail: detail.clone(),
            };
            let hash = chain_hash(&prev, seq, &entry);
            sqlx::query(
                "UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&mut *c)
            .await
            .expect("rewrite");
            prev = hash;
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(&mut *c)
            .await
            .expect("head");
        for sql in [
            "DELETE FROM audit_checkpoint_witnesses",
            "DELETE FROM audit_checkpoints",
        ] {
            sqlx::query(sql)
                .execute(&mut *c)
                .await
                .expect("delete checkpoints");
        }
    }};
}

async fn rewrite_chain_from(url: &str, from: i64) {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("db");
        rewrite_from!(&mut c, from, "DROP TRIGGER audit_log_no_update");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("db");
        rewrite_from!(
            &mut c,
            from,
            "DROP TRIGGER audit_log_no_update ON audit_log"
        );
    }
}

/// `audit verify` on Chongqing's database with its config (so its partner is asked).
fn audit_verify(cq: &TestApp, json: bool) -> (bool, String) {
    let config = cq.dir.path().join("gateway.toml");
    let (cert, key) = (cq.certs.join("server.pem"), cq.certs.join("server.key"));
    let mut args = vec![
        "audit",
        "verify",
        "--database-url",
        &cq.database_url,
        "--config",
        config.to_str().expect("utf-8"),
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ];
    if json {
        args.push("--json");
    }
    cli(&args)
}

/// Issues `n` cards at Chongqing (each audited), then waits until Mianyang witnessed a
/// checkpoint at least as far as Chongqing's chain went.
async fn audited_and_witnessed(cq: &TestApp, my: &TestApp, n: u32, tag: &str) -> i64 {
    for i in 0..n {
        issue(cq, &format!("110105198001{tag}{i:03}"), "B", "").await;
    }
    let head = head_seq(&cq.database_url).await;
    eventually(Duration::from_secs(20), "checkpoint witnessed", || async {
        let held = witnessed(my, cq).await;
        held.last().map(|(s, _)| *s).filter(|s| *s >= head)
    })
    .await
}

fn refused(
    r: Result<tonic::Response<pb::WitnessCheckpointResponse>, tonic::Status>,
) -> tonic::Status {
    r.expect_err("refused")
}

async fn a_rewritten_chain_is_caught_by_what_the_partner_witnessed(db: Db) {
    let (mut cq, mut my) = two_regions(db).await;
    let first = audited_and_witnessed(&cq, &my, 3, "01").await;
    let second = audited_and_witnessed(&cq, &my, 3, "02").await;
    assert!(second > first, "{first} then {second}");
    // Chongqing keeps Mianyang's countersignatures beside its own checkpoints.
    eventually(Duration::from_secs(20), "countersignature kept", || async {
        (countersignatures(&cq.database_url, "mianyang").await > 0).then_some(())
    })
    .await;
    let held = witnessed(&my, &cq).await;
    let w = &held.iter().find(|(s, _)| *s == second).expect("held").1;
    assert!(!w.countersignature.is_empty() && w.witnessed_at.is_some());

    let (ok, text) = audit_verify(&cq, false);
    assert!(ok, "{text}");
    assert!(text.contains("audit chain intact"), "{text}");
    assert!(text.contains("partner mianyang:"), "{text}");
    assert!(!text.contains("REWRITE"), "{text}");

    // Mianyang refuses what is not a checkpoint Chongqing may submit.
    let key = cq_key(&cq.database_url).await;
    let signed = |k: &OwnSigningKey, typ: &str, iss: &str, seq: i64, head: &str| {
        k.sign(
            typ,
            &CheckpointClaims {
                iss: iss.into(),
                seq,
                head: head.into(),
                iat: 1,
            },
        )
        .expect("signs")
    };
    let other_head = hex(&[0x77; 32]);
    let as_cq = at_mianyang(&my, Some(&cq), "server").await;
    let submit = |checkpoint: String| {
        let mut client = as_cq.clone();
        async move {
            client
                .witness_checkpoint(pb::WitnessCheckpointRequest { checkpoint })
                .await
        }
    };
    let stranger = OwnSigningKey::generate(SigningAlgorithm::EdDsa);
    let e = refused(
        submit(signed(
            &stranger,
            CHECKPOINT_TYPE,
            CQ_ISSUER,
            second + 100,
            &other_head,
        ))
        .await,
    );
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("not one of the signer's keys"),
        "{e:?}"
    );
    let e = refused(submit(signed(&key, "JWT", CQ_ISSUER, second + 100, &other_head)).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("typ"), "{e:?}");
    let e = refused(
        submit(signed(
            &key,
            CHECKPOINT_TYPE,
            MY_ISSUER,
            second + 100,
            &other_head,
        ))
        .await,
    );
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = refused(
        submit(signed(
            &key,
            CHECKPOINT_TYPE,
            CQ_ISSUER,
            second,
            &other_head,
        ))
        .await,
    );
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message()
            .contains("contradicts a checkpoint witnessed at"),
        "{e:?}"
    );
    let held_seqs: Vec<i64> = held.iter().map(|(s, _)| *s).collect();
    let gap = (1..second)
        .find(|s| !held_seqs.contains(s))
        .expect("a sequence below the last that was never a checkpoint");
    let e = refused(submit(signed(&key, CHECKPOINT_TYPE, CQ_ISSUER, gap, &other_head)).await);
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("goes backwards"), "{e:?}");
    // The same checkpoint again is answered as before.
    let again = submit(w.checkpoint.clone())
        .await
        .expect("same again")
        .into_inner();
    assert_eq!(again.countersignature, w.countersignature);
    // Only a partner's gateway may submit: not an operator, not an unknown partner identity.
    for role in ["operator", "partner"] {
        let e = at_mianyang(&my, None, role)
            .await
            .witness_checkpoint(pb::WitnessCheckpointRequest {
                checkpoint: w.checkpoint.clone(),
            })
            .await
            .expect_err("not a partner's gateway");
        assert_eq!(e.code(), Code::PermissionDenied, "{role}: {e:?}");
    }
    // The refusals changed nothing held.
    let after: Vec<i64> = witnessed(&my, &cq).await.iter().map(|(s, _)| *s).collect();
    assert!(
        after.starts_with(&held_seqs),
        "{held_seqs:?} then {after:?}"
    );
    // The log reaches the test through a reader thread, so it may trail the answer.
    eventually(
        Duration::from_secs(5),
        "the contradiction logged",
        || async {
            my.logs()
                .contains("contradicts one witnessed earlier")
                .then_some(())
        },
    )
    .await;

    // A partner that cannot be reached is reported, and does not by itself fail the check.
    assert_eq!(my.terminate().code(), Some(0));
    let (ok, text) = audit_verify(&cq, false);
    assert!(ok, "{text}");
    assert!(text.contains("partner mianyang: UNREACHABLE"), "{text}");
    // A restart keeps what was witnessed.
    my.restart_in_place();
    let kept: Vec<i64> = witnessed(&my, &cq).await.iter().map(|(s, _)| *s).collect();
    assert!(kept.starts_with(&held_seqs), "{held_seqs:?} then {kept:?}");

    // Someone with Chongqing's database credentials rewrites the chain from the record the
    // last witnessed checkpoint covers, and deletes the checkpoints kept there.
    assert_eq!(cq.terminate().code(), Some(0));
    rewrite_chain_from(&cq.database_url, second).await;
    let (ok, text) = crate::audit::audit_verify(&cq.database_url);
    assert!(
        ok,
        "the local chain checks out by itself after the rewrite: {text}"
    );
    let (ok, text) = audit_verify(&cq, false);
    assert!(!ok, "{text}");
    assert!(
        text.contains("REWRITE: partner mianyang holds checkpoint"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "audit chain rewritten: record {second} no longer matches what partner mianyang holds"
        )),
        "{text}"
    );
    let (ok, text) = audit_verify(&cq, true);
    assert!(!ok, "{text}");
    let report: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("json")).expect("json");
    assert_eq!(report["first_unmatched"], second, "{report}");
    assert_eq!(report["rewritten_per"], "partner mianyang", "{report}");
    let intact_through = report["intact_through"].as_i64().expect("number");
    assert!(
        intact_through >= first && intact_through < second,
        "{report}"
    );
    assert_eq!(report["intact"], false, "{report}");

    // Cutting the chain off before the witnessed record instead is a truncation.
    truncate_before(&cq.database_url, second).await;
    let (ok, text) = crate::audit::audit_verify(&cq.database_url);
    assert!(ok, "the shortened chain checks out by itself: {text}");
    let (ok, text) = audit_verify(&cq, false);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "TRUNCATION: partner mianyang holds checkpoint {second} with head"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("record {second} no longer matches")),
        "{text}"
    );
}

/// Deletes the records from `from` on and moves the head back (the guard against deletes
/// dropped: on PostgreSQL the one trigger guarding updates guards deletes too).
async fn truncate_before(url: &str, from: i64) {
    let delete = "DELETE FROM audit_log WHERE seq >= $1";
    let head = "UPDATE audit_head SET seq = $1 - 1, \
                hash = (SELECT hash FROM audit_log WHERE seq = $1 - 1) WHERE id = 1";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("db");
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(&mut c)
            .await
            .expect("drop");
        sqlx::query(delete)
            .bind(from)
            .execute(&mut c)
            .await
            .expect("delete");
        sqlx::query(head)
            .bind(from)
            .execute(&mut c)
            .await
            .expect("head");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("db");
        sqlx::query(delete)
            .bind(from)
            .execute(&mut c)
            .await
            .expect("delete");
        sqlx::query(head)
            .bind(from)
            .execute(&mut c)
            .await
            .expect("head");
    }
}
both_databases!(a_rewritten_chain_is_caught_by_what_the_partner_witnessed);
