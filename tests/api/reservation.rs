//! Partner reservations verify the holder's card (issue #14, part 4) and holder binding reads
//! `cnf` strictly (part 7): two federated gateways, Chongqing the home region and Mianyang
//! the host, holder proofs made here by an independent signer (ed25519-dalek, sha2).

use crate::both_databases;
use crate::federation::{
    CQ_ISSUER, MY_ISSUER, issue, redeem_with_proof, two_regions_up_with, verify,
};
use crate::fixtures::{b64, device, holder_proof, id_number, issue_request, now};
use crate::helpers::{Db, TestApp, eventually, issued};
use crate::mianyang::Mianyang;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::time::Duration;
use talent_gateway::pb;
use tonic::Code;
use tonic_types::StatusExt;

/// A holder's device: a kb+jwt over the token it presents (QR prefix stripped).
fn prove(key: &SigningKey, credential: &str, nonce: &str, aud: &str) -> String {
    let token = credential.split_once(':').map_or(credential, |(_, t)| t);
    holder_proof(key, token, nonce, aud, now())
}

async fn nonce(app: &TestApp) -> String {
    pb::verification_client::VerificationClient::new(app.channel(None).await)
        .create_challenge(pb::CreateChallengeRequest {})
        .await
        .expect("challenge")
        .into_inner()
        .nonce
}

async fn bound_card(app: &TestApp, base17: &str, holder: &SigningKey) -> pb::Card {
    let mut req = issue_request(&id_number(base17), "B", "");
    req.holder_public_key = holder.verifying_key().as_bytes().to_vec();
    issued(app, req).await
}

fn reservation(
    card_id: &str,
    code: &str,
    key: &str,
    credential: &str,
    proof: &str,
) -> pb::ReserveQuotaRequest {
    pb::ReserveQuotaRequest {
        issuer: CQ_ISSUER.into(),
        card_id: card_id.into(),
        service_code: code.into(),
        idempotency_key: key.into(),
        credential: credential.into(),
        holder_proof: proof.into(),
    }
}

#[track_caller]
fn refused_with(e: &tonic::Status, reason: &str) {
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains(reason), "{e:?}");
    assert_eq!(
        e.get_details_error_info().expect("error info").reason,
        reason,
        "{e:?}"
    );
}

/// Chongqing asks bound cards for a proof for its health check (CQ10).
const CQ_POLICY: &str = "\n[holder_proof]\nrequired_for_services = [\"CQ10\", \"CQ12\"]\n";
/// Mianyang asks for one for its health check (MY07, mapped from CQ10) only.
const MY_POLICY: &str = "\n[holder_proof]\nrequired_for_services = [\"MY07\"]\n";

async fn reserve_quota_needs_the_holders_card(db: Db) {
    let (cq, my) = two_regions_up_with(db, CQ_POLICY, "").await;
    let holder = device();
    let bound = bound_card(&cq, "11010519800101021", &holder).await;
    let plain = issue(&cq, "11010519800101022", "B", "res-2").await;
    let other = issue(&cq, "11010519800101023", "B", "res-3").await;
    let my_card = issue(&my, "51070019850202021", "C", "res-4").await;
    // Mianyang's gateway, with its own certificate, calling Chongqing.
    let mut partner = pb::federation_client::FederationClient::new(
        cq.channel_with(Some("server"), &my.dir.path().join("certs"))
            .await
            .expect("connect"),
    );

    // No credential: the request is wrong, whatever else it says.
    let e = partner
        .reserve_quota(reservation(&plain.card_id, "CQ10", "k-1", "", ""))
        .await
        .expect_err("no credential");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("credential"), "{e:?}");

    // Another card's credential: refused, saying nothing of the card asked for; a number no
    // card has gets word for word the same answer.
    let e = partner
        .reserve_quota(reservation(&other.card_id, "CQ10", "k-2", &plain.token, ""))
        .await
        .expect_err("not its card");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("card_id"), "{e:?}");
    assert!(!e.message().contains(&other.card_id), "{e:?}");
    let none = partner
        .reserve_quota(reservation(
            "CQ0000000000000",
            "CQ10",
            "k-3",
            &plain.token,
            "",
        ))
        .await
        .expect_err("no such card");
    assert_eq!((none.code(), none.message()), (e.code(), e.message()));

    // A service the agreement does not map from Mianyang, and one that does not exist: the
    // same rule, naming service_code.
    for code in ["CQ06", "CQ99"] {
        let e = partner
            .reserve_quota(reservation(&plain.card_id, code, "k-4", &plain.token, ""))
            .await
            .expect_err("unmapped");
        assert_eq!(e.code(), Code::InvalidArgument, "{code}: {e:?}");
        assert!(
            e.message().starts_with(&format!(
                "service_code: {code} is not a service of chongqing mapped from partner mianyang"
            )),
            "{e:?}"
        );
    }

    // A card that is not Chongqing's own (Mianyang's, trusted here as a partner's), and a
    // credential that does not verify (the verdict's reason in the details).
    eventually(Duration::from_secs(10), "Mianyang card trusted", || async {
        verify(&cq, &my_card.token).await.valid.then_some(())
    })
    .await;
    let e = partner
        .reserve_quota(reservation(
            &my_card.card_id,
            "CQ10",
            "k-5",
            &my_card.token,
            "",
        ))
        .await
        .expect_err("not an own card");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("credential"), "{e:?}");
    let e = partner
        .reserve_quota(reservation(
            &plain.card_id,
            "CQ10",
            "k-6",
            "not.a.token",
            "",
        ))
        .await
        .expect_err("refused credential");
    refused_with(&e, "MALFORMED");

    // Chongqing's own policy for its health check: a bound card needs a proof, signed by its
    // cnf key, over this token, addressed to Chongqing or to the asking partner.
    let e = partner
        .reserve_quota(reservation(&bound.card_id, "CQ10", "k-7", &bound.token, ""))
        .await
        .expect_err("proof required");
    refused_with(&e, "HOLDER_PROOF_REQUIRED");
    let n = nonce(&my).await;
    for (proof, word) in [
        (
            prove(&holder, &bound.token, &n, "urn:cn:999999:elsewhere"),
            "aud",
        ),
        (prove(&device(), &bound.token, &n, MY_ISSUER), "signature"),
        (prove(&holder, &plain.token, &n, MY_ISSUER), "sd_hash"),
        ("a.b".to_owned(), "three parts"),
    ] {
        let e = partner
            .reserve_quota(reservation(
                &bound.card_id,
                "CQ10",
                "k-7",
                &bound.token,
                &proof,
            ))
            .await
            .expect_err("bad proof");
        refused_with(&e, "HOLDER_PROOF_INVALID");
        assert!(e.message().contains(word), "{word}: {e:?}");
    }
    // A proof for a card without cnf: nothing to prove, refused.
    let e = partner
        .reserve_quota(reservation(
            &plain.card_id,
            "CQ10",
            "k-8",
            &plain.token,
            &prove(&holder, &plain.token, &n, MY_ISSUER),
        ))
        .await
        .expect_err("unbound");
    refused_with(&e, "HOLDER_PROOF_INVALID");

    // The right proof (the host spent its nonce; the home does not ask for it): reserved,
    // the answer is the reservation, what is left and the period's end.
    let proof = prove(&holder, &bound.qr_payload, &n, MY_ISSUER);
    let r = partner
        .reserve_quota(reservation(
            &bound.card_id,
            "CQ10",
            "k-9",
            &bound.qr_payload,
            &proof,
        ))
        .await
        .expect("reserved")
        .into_inner();
    assert!(!r.reservation_id.is_empty());
    assert_eq!(r.remaining, 0);
    assert!(r.period_end.expect("period_end").seconds > now());
    let again = partner
        .reserve_quota(reservation(
            &bound.card_id,
            "CQ10",
            "k-9",
            &bound.token,
            &proof,
        ))
        .await
        .expect("retried")
        .into_inner();
    assert_eq!(again, r, "a retry is the same reservation");
    // Addressed to Chongqing itself is fine too.
    partner
        .reserve_quota(reservation(
            &bound.card_id,
            "CQ13",
            "k-10",
            &bound.token,
            &prove(&holder, &bound.token, &nonce(&my).await, CQ_ISSUER),
        ))
        .await
        .expect("own audience");
    // The allowance is gone at home; the cards refused above kept theirs.
    let e = redeem_with_proof(
        &cq,
        &bound.token,
        "CQ10",
        "home-1",
        &prove(&holder, &bound.token, &nonce(&cq).await, CQ_ISSUER),
    )
    .await
    .expect_err("used up at home");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    for card in [&plain, &other] {
        let r = redeem_with_proof(
            &cq,
            &card.token,
            "CQ10",
            &format!("home-{}", card.card_id),
            "",
        )
        .await
        .expect("untouched");
        assert_eq!(r.remaining, 0);
    }
}
both_databases!(reserve_quota_needs_the_holders_card);

async fn cross_region_redemption_forwards_the_card_and_proof(db: Db) {
    let (cq, my) = two_regions_up_with(db, CQ_POLICY, MY_POLICY).await;
    let holder = device();
    let bound = bound_card(&cq, "11010519800101031", &holder).await;
    let plain = issue(&cq, "11010519800101032", "B", "x-2").await;
    eventually(
        Duration::from_secs(10),
        "Chongqing cards trusted",
        || async {
            (verify(&my, &bound.token).await.valid && verify(&my, &plain.token).await.valid)
                .then_some(())
        },
    )
    .await;

    // Both regions ask for a proof for the health check: one proof, made for the host,
    // serves both; the home region keeps the count.
    let e = redeem_with_proof(&my, &bound.qr_payload, "MY07", "x-1", "")
        .await
        .expect_err("the host asks");
    refused_with(&e, "HOLDER_PROOF_REQUIRED");
    let proof = prove(&holder, &bound.qr_payload, &nonce(&my).await, MY_ISSUER);
    let r = redeem_with_proof(&my, &bound.qr_payload, "MY07", "x-1", &proof)
        .await
        .expect("redeemed across the border");
    assert_eq!(r.remaining, 0);
    let e = redeem_with_proof(
        &cq,
        &bound.token,
        "CQ10",
        "x-home",
        &prove(&holder, &bound.token, &nonce(&cq).await, CQ_ISSUER),
    )
    .await
    .expect_err("used up at home");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");

    // Only the home region asks (airport priority, CQ12 -> MY08): without a proof the
    // home refuses and the counter hears why; with one it is granted.
    let e = redeem_with_proof(&my, &bound.token, "MY08", "x-2", "")
        .await
        .expect_err("the home asks");
    refused_with(&e, "HOLDER_PROOF_REQUIRED");
    assert!(e.message().contains("home region chongqing"), "{e:?}");
    let proof = prove(&holder, &bound.token, &nonce(&my).await, MY_ISSUER);
    let r = redeem_with_proof(&my, &bound.token, "MY08", "x-2", &proof)
        .await
        .expect("granted with a proof");
    assert_eq!(r.remaining, 5);
    // A card without cnf needs none, on either side.
    let r = redeem_with_proof(&my, &plain.token, "MY07", "x-3", "")
        .await
        .expect("unbound card");
    assert_eq!(r.remaining, 0);
    let e = redeem_with_proof(&cq, &plain.token, "CQ10", "x-4", "")
        .await
        .expect_err("used up at home");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
}
both_databases!(cross_region_redemption_forwards_the_card_and_proof);

async fn an_unreadable_cnf_is_refused_never_unbound(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let partner = Mianyang::new(dir.path());
    let config = format!(
        "{}\n[holder_proof]\nrequired_for_services = [\"CQ01\"]\n",
        partner.config()
    );
    let app = TestApp::builder().db(db).config(&config).spawn().await;
    let holder = device();
    let x = b64(holder.verifying_key().as_bytes());
    let with_cnf = |cnf: serde_json::Value| {
        let mut c = Mianyang::claims("B");
        c["cnf"] = cnf;
        partner.token(&c)
    };
    for (cnf, word) in [
        (
            json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
            "cnf.jkt",
        ),
        (
            json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "not-a-key"}}),
            "cnf.jwk x",
        ),
        (
            json!({"jwk": {"kty": "EC", "crv": "P-256", "x": x, "y": x}}),
            "kty",
        ),
        (
            json!({"jwk": {"kty": "OKP", "crv": "X25519", "x": x}}),
            "crv",
        ),
        (json!({"jwk": "OKP"}), "not a JWK object"),
        (json!("bound"), "not an object"),
    ] {
        let token = with_cnf(cnf.clone());
        let v = verify(&app, &token).await;
        assert!(!v.valid, "{cnf}: {v:?}");
        assert_eq!(v.reason, "HOLDER_PROOF_INVALID", "{cnf}: {v:?}");
        assert!(
            v.detail.contains(word),
            "{cnf}: {:?} should name {word}",
            v.detail
        );
        // A counter cannot redeem it either, with or without a proof.
        let e = redeem_with_proof(&app, &token, "CQ01", &format!("cnf-{word}"), "")
            .await
            .expect_err("refused");
        refused_with(&e, "HOLDER_PROOF_INVALID");
    }
    // A readable cnf.jwk binds the card as before: no proof, no redemption of CQ01.
    let token = with_cnf(json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}}));
    assert!(verify(&app, &token).await.valid);
    let e = redeem_with_proof(&app, &token, "CQ01", "cnf-ok", "")
        .await
        .expect_err("a proof is required");
    refused_with(&e, "HOLDER_PROOF_REQUIRED");
    let proof = prove(&holder, &token, &nonce(&app).await, CQ_ISSUER);
    redeem_with_proof(&app, &token, "CQ01", "cnf-ok", &proof)
        .await
        .expect("redeemed with a proof");
}
both_databases!(an_unreadable_cnf_is_refused_never_unbound);

async fn a_mapping_counted_differently_is_not_imported(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let shipped = include_str!("../../catalogue/catalogue.toml");
    let next = shipped.replace("version = \"2025.1\"", "version = \"2026.1\"");
    let at_next = next.find("code = \"MY07\"").expect("MY07");
    let once = format!(
        "{}{}",
        &next[..at_next],
        next[at_next..].replacen("quota = \"per_year 1\"", "quota = \"once\"", 1)
    );
    assert_ne!(once, next);
    let mut admin = app.admin().await;
    let e = admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: once,
            effective_from: None,
        })
        .await
        .expect_err("mismatched mapping");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    for word in ["catalogue", "mapping", "CQ10", "per_year 1", "MY07", "once"] {
        assert!(e.message().contains(word), "{word}: {}", e.message());
    }
    let card = crate::helpers::own_card(&app, "50010419880808031", "C").await;
    assert_eq!(verify(&app, &card.token).await.catalogue_version, "2025.1");
    // Nothing was stored under that version: the corrected document takes it.
    admin
        .import_catalogue(pb::ImportCatalogueRequest {
            catalogue: next,
            effective_from: None,
        })
        .await
        .expect("imported");
    assert_eq!(verify(&app, &card.token).await.catalogue_version, "2026.1");
}
both_databases!(a_mapping_counted_differently_is_not_imported);

async fn counters_are_named_and_compared_as_spiffe_ids(db: Db) {
    // The trust domain written in capitals is the same identity as the certificate's.
    let config = "[holder_proof]\nrequired_for_counters = [\"spiffe://CQ.Talent/counter/dev\"]\n";
    let app = TestApp::builder().db(db).config(config).spawn().await;
    let holder = device();
    let bound = bound_card(&app, "11010519800101041", &holder).await;
    let e = redeem_with_proof(&app, &bound.token, "CQ01", "c-1", "")
        .await
        .expect_err("this counter asks for a proof");
    refused_with(&e, "HOLDER_PROOF_REQUIRED");
    let proof = prove(&holder, &bound.token, &nonce(&app).await, CQ_ISSUER);
    redeem_with_proof(&app, &bound.token, "CQ01", "c-1", &proof)
        .await
        .expect("with a proof");
    // Another counter of a longer name is another identity: not asked.
    let config = "[holder_proof]\nrequired_for_counters = [\"spiffe://cq.talent/counter/de\"]\n";
    let other = TestApp::builder()
        .db(Db::Sqlite)
        .config(config)
        .spawn()
        .await;
    let bound = bound_card(&other, "11010519800101042", &holder).await;
    redeem_with_proof(&other, &bound.token, "CQ01", "c-2", "")
        .await
        .expect("not a listed counter");
}
both_databases!(counters_are_named_and_compared_as_spiffe_ids);

#[tokio::test]
async fn a_counter_entry_that_is_not_a_spiffe_id_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        "cq.talent/counter/desk-1",
        "spiffe://cq.talent/counter",
        "spiffe://cq.talent/desk/desk-1",
    ] {
        let config = dir.path().join("gateway.toml");
        std::fs::write(
            &config,
            format!(
                "[holder_proof]\nrequired_for_counters = [\"spiffe://cq.talent/counter/ok\", \"{bad}\"]\n"
            ),
        )
        .expect("config");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .expect("run serve");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: {text}");
        assert!(
            text.contains("required_for_counters") && text.contains(bad),
            "{bad}: {text}"
        );
    }
}
