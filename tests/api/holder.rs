//! Holder binding: proofs (kb+jwt) made by an independent signer (`fixtures::holder_proof`:
//! ed25519-dalek, sha2, serde_json and base64 directly, not the gateway's code), checked by
//! the real gateway.

use crate::both_databases;
use crate::fixtures::{b64, device, holder_proof as prove, id_number, issue_request, now};
use crate::helpers::{Db, TestApp, issued};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use talent_gateway::pb;
use tonic::Code;

const AUDIENCE: &str = "urn:cn:500000:talent-card";

/// A holder's device: signs `{nonce, aud, iat, sd_hash}` over the token it presents.
async fn card(app: &TestApp, base17: &str, holder: Option<&SigningKey>) -> pb::Card {
    let mut req = issue_request(&id_number(base17), "C", "");
    if let Some(k) = holder {
        req.holder_public_key = k.verifying_key().as_bytes().to_vec();
    }
    issued(app, req).await
}

async fn challenge(app: &TestApp) -> pb::CreateChallengeResponse {
    // Public: a holder's phone has no client certificate.
    pb::verification_client::VerificationClient::new(app.channel(None).await)
        .create_challenge(pb::CreateChallengeRequest {})
        .await
        .expect("challenge")
        .into_inner()
}

async fn verify_with(app: &TestApp, credential: &str, proof: &str) -> pb::VerifyCardResponse {
    app.verification()
        .await
        .verify_card(pb::VerifyCardRequest {
            credential: credential.into(),
            holder_proof: proof.into(),
            ..Default::default()
        })
        .await
        .expect("VerifyCard answers")
        .into_inner()
}

#[track_caller]
fn refused(v: &pb::VerifyCardResponse, reason: &str, words: &str) {
    assert!(!v.valid, "{v:?}");
    assert_eq!(v.reason, reason, "{v:?}");
    assert!(
        v.detail.contains(words),
        "detail {:?} should say {words}",
        v.detail
    );
    assert!(v.entitlements.is_empty());
}

async fn a_holder_proof_binds_the_card_once(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let holder = device();
    let bound = card(&app, "50010419900101001", Some(&holder)).await;
    let plain = card(&app, "50010419900101002", None).await;

    let c = challenge(&app).await;
    assert!(URL_SAFE_NO_PAD.decode(&c.nonce).expect("base64url").len() >= 16);
    assert_eq!(c.audience, AUDIENCE);
    let exp = c.expires_at.expect("expires_at").seconds;
    assert!(
        (exp - now() - 120).abs() <= 5,
        "default lifetime 120 s: {exp}"
    );
    assert_ne!(challenge(&app).await.nonce, c.nonce);

    // The proof hashes the token; the counter may present the QR payload around it.
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    let ok = verify_with(&app, &bound.qr_payload, &proof).await;
    assert!(ok.valid, "{ok:?}");
    assert_eq!(ok.reason, "OK");
    assert!(!ok.entitlements.is_empty());
    refused(
        &verify_with(&app, &bound.qr_payload, &proof).await,
        "HOLDER_PROOF_INVALID",
        "used before",
    );

    // Each offline check, on a fresh nonce; a refused proof does not use the nonce up.
    let c = challenge(&app).await;
    let other_aud = prove(
        &holder,
        &bound.token,
        &c.nonce,
        "urn:cn:510700:kjc-talent-card",
        now(),
    );
    refused(
        &verify_with(&app, &bound.token, &other_aud).await,
        "HOLDER_PROOF_INVALID",
        "aud",
    );
    let other_holder = device();
    let forged = prove(&other_holder, &bound.token, &c.nonce, AUDIENCE, now());
    refused(
        &verify_with(&app, &bound.token, &forged).await,
        "HOLDER_PROOF_INVALID",
        "signature",
    );
    let second = card(&app, "50010419900101003", Some(&holder)).await;
    let for_second = prove(&holder, &second.token, &c.nonce, AUDIENCE, now());
    refused(
        &verify_with(&app, &bound.token, &for_second).await,
        "HOLDER_PROOF_INVALID",
        "sd_hash",
    );
    let stale = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now() - 3600);
    refused(
        &verify_with(&app, &bound.token, &stale).await,
        "HOLDER_PROOF_INVALID",
        "iat",
    );
    let mut wrong_typ = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    wrong_typ.replace_range(
        ..wrong_typ.find('.').expect("dot"),
        &b64(r#"{"alg":"EdDSA","typ":"JWT"}"#),
    );
    refused(
        &verify_with(&app, &bound.token, &wrong_typ).await,
        "HOLDER_PROOF_INVALID",
        "typ",
    );
    refused(
        &verify_with(&app, &bound.token, "not.a-proof").await,
        "HOLDER_PROOF_INVALID",
        "holder proof",
    );
    let good = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    assert!(
        verify_with(&app, &bound.token, &good).await.valid,
        "nonce still unused"
    );

    let unknown = prove(
        &holder,
        &bound.token,
        &b64(rand::random::<[u8; 32]>()),
        AUDIENCE,
        now(),
    );
    refused(
        &verify_with(&app, &bound.token, &unknown).await,
        "HOLDER_PROOF_INVALID",
        "not issued",
    );

    // A card without cnf has no key to prove with.
    let c = challenge(&app).await;
    let unbound = prove(&holder, &plain.token, &c.nonce, AUDIENCE, now());
    refused(
        &verify_with(&app, &plain.token, &unbound).await,
        "HOLDER_PROOF_INVALID",
        "not bound",
    );

    // A card that does not verify keeps its own reason.
    let mut tampered = bound.token.clone();
    tampered.push('A');
    let v = verify_with(
        &app,
        &tampered,
        &prove(&holder, &tampered, &c.nonce, AUDIENCE, now()),
    )
    .await;
    assert_ne!(v.reason, "OK");
    assert!(!v.reason.starts_with("HOLDER_PROOF"), "{v:?}");

    // Asked for, a proof is required of a bound card only.
    let mut api = app.verification().await;
    let ask = |credential: &str| pb::VerifyCardRequest {
        credential: credential.into(),
        require_holder_proof: true,
        ..Default::default()
    };
    let v = api
        .verify_card(ask(&bound.token))
        .await
        .expect("answer")
        .into_inner();
    refused(&v, "HOLDER_PROOF_REQUIRED", "required");
    let v = api
        .verify_card(ask(&plain.token))
        .await
        .expect("answer")
        .into_inner();
    assert!(v.valid, "{v:?}");

    // VerifyCards checks proofs too.
    let c = challenge(&app).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    let batch = pb::VerifyCardsRequest {
        requests: vec![
            pb::VerifyCardRequest {
                credential: bound.token.clone(),
                holder_proof: proof.clone(),
                ..Default::default()
            },
            pb::VerifyCardRequest {
                credential: bound.token.clone(),
                holder_proof: proof,
                ..Default::default()
            },
            ask(&bound.token),
        ],
    };
    let verdicts = api
        .verify_cards(batch)
        .await
        .expect("answer")
        .into_inner()
        .verdicts;
    let reasons: Vec<&str> = verdicts.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["OK", "HOLDER_PROOF_INVALID", "HOLDER_PROOF_REQUIRED"]
    );
}
both_databases!(a_holder_proof_binds_the_card_once);

async fn an_expired_nonce_is_refused(db: Db) {
    let app = TestApp::builder()
        .db(db)
        .config("[holder_proof]\nchallenge_ttl_seconds = 1\n")
        .spawn()
        .await;
    let holder = device();
    let bound = card(&app, "50010419900101004", Some(&holder)).await;
    let c = challenge(&app).await;
    assert!(c.expires_at.expect("expires_at").seconds <= now() + 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    refused(
        &verify_with(&app, &bound.token, &proof).await,
        "HOLDER_PROOF_INVALID",
        "expired",
    );
}
both_databases!(an_expired_nonce_is_refused);

fn redeem(credential: &str, code: &str, key: &str, proof: &str) -> pb::RedeemServiceRequest {
    pb::RedeemServiceRequest {
        credential: credential.into(),
        service_code: code.into(),
        idempotency_key: key.into(),
        holder_proof: proof.into(),
    }
}

async fn policy_asks_bound_cards_for_a_proof(db: Db) {
    let config = "[holder_proof]\nrequired_for_services = [\"CQ10\"]\n\
                  required_for_counters = [\"spiffe://cq.talent/operator/dev\"]\n";
    let app = TestApp::builder().db(db).config(config).spawn().await;
    let holder = device();
    let bound = card(&app, "50010419900101005", Some(&holder)).await;
    let plain = card(&app, "50010419900101006", None).await;
    let mut counter = app.entitlements(Some("counter")).await;
    let mut operator = app.entitlements(Some("operator")).await;

    use tonic_types::StatusExt;
    for e in [
        counter
            .redeem_service(redeem(&bound.token, "CQ10", "h-1", ""))
            .await,
        operator
            .redeem_service(redeem(&bound.token, "CQ01", "h-2", ""))
            .await,
    ] {
        let e = e.expect_err("a proof is required");
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(
            e.message().contains("HOLDER_PROOF_REQUIRED"),
            "{}",
            e.message()
        );
        assert_eq!(
            e.get_details_error_info().expect("error info").reason,
            "HOLDER_PROOF_REQUIRED"
        );
    }
    // Not listed: no proof needed. Without cnf: nothing to prove, not asked.
    counter
        .redeem_service(redeem(&bound.token, "CQ01", "h-3", ""))
        .await
        .expect("CQ01 is not listed");
    counter
        .redeem_service(redeem(&plain.token, "CQ10", "h-4", ""))
        .await
        .expect("a card without cnf");

    // With a proof the health check is redeemed; a replayed proof is not.
    let c = challenge(&app).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    // A request the counter got wrong does not use the proof up.
    let e = counter
        .redeem_service(redeem(&bound.token, "MY01", "h-7", &proof))
        .await
        .expect_err("not a service here");
    assert_eq!(e.code(), Code::InvalidArgument);
    let r = counter
        .redeem_service(redeem(&bound.qr_payload, "CQ10", "h-5", &proof))
        .await
        .expect("redeemed with a proof")
        .into_inner();
    assert_eq!(r.remaining, 0);
    let e = counter
        .redeem_service(redeem(&bound.token, "CQ13", "h-6", &proof))
        .await
        .expect_err("replay");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        e.get_details_error_info().expect("error info").reason,
        "HOLDER_PROOF_INVALID"
    );
    // A retry of the same redemption with a fresh proof gets the original answer.
    let c = challenge(&app).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    let again = counter
        .redeem_service(redeem(&bound.token, "CQ10", "h-5", &proof))
        .await
        .expect("retried")
        .into_inner();
    assert_eq!(again.redemption_id, r.redemption_id);
}
both_databases!(policy_asks_bound_cards_for_a_proof);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_is_used_once_across_two_gateways_on_one_postgresql() {
    let Some(db) = Db::postgres() else { return };
    let secrets = "key_encryption_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
                   id_hash_secret = \"HxwdHh8QERITFBUWFxgZGhscHR4fAAECAwQFBgcICQo=\"\n";
    let first = TestApp::builder().db(db).config(secrets).spawn().await;
    let second = TestApp::builder()
        .database_of(&first)
        .config(secrets)
        .spawn()
        .await;
    let holder = device();
    let bound = card(&first, "50010419900101007", Some(&holder)).await;

    // Asked of one, answered at the other; then replayed at the first.
    let c = challenge(&first).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    assert!(verify_with(&second, &bound.token, &proof).await.valid);
    refused(
        &verify_with(&first, &bound.token, &proof).await,
        "HOLDER_PROOF_INVALID",
        "used before",
    );

    // One proof sent 16 times at once to both: accepted exactly once.
    let c = challenge(&second).await;
    let proof = prove(&holder, &bound.token, &c.nonce, AUDIENCE, now());
    let mut clients = Vec::new();
    for i in 0..16 {
        clients.push([&first, &second][i % 2].verification().await);
    }
    let calls: Vec<_> = clients
        .into_iter()
        .map(|mut api| {
            let req = pb::VerifyCardRequest {
                credential: bound.token.clone(),
                holder_proof: proof.clone(),
                ..Default::default()
            };
            tokio::spawn(async move { api.verify_card(req).await.expect("answer").into_inner() })
        })
        .collect();
    let mut reasons = Vec::new();
    for c in calls {
        reasons.push(c.await.expect("task").reason);
    }
    assert_eq!(
        reasons.iter().filter(|r| *r == "OK").count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| *r == "HOLDER_PROOF_INVALID")
            .count(),
        15,
        "{reasons:?}"
    );
}
