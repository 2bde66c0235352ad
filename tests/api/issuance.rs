//! Issuing cards and managing their life, seen from a gRPC client.

use crate::both_databases;
use crate::fixtures::{id_number, issue_request};
use crate::helpers::{Db, TestApp, issued, own_card, verify};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use talent_gateway::pb;
use tonic::Code;

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}

fn header(token: &str) -> serde_json::Value {
    let h = token.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json")
}

/// Checks `token` against the published JWKS with ed25519-dalek, as a partner would.
fn verifies_with_jwks(token: &str, jwks_json: &str) -> bool {
    use ed25519_dalek::{Signature, VerifyingKey};
    let jwks: serde_json::Value = serde_json::from_str(jwks_json).expect("jwks json");
    let kid = header(token)["kid"].as_str().expect("kid").to_owned();
    let Some(jwk) = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return false;
    };
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().expect("x"))
        .expect("b64")
        .try_into()
        .expect("32");
    let key = VerifyingKey::from_bytes(&x).expect("key");
    assert_eq!(
        talent_gateway::credential::thumbprint(&key),
        kid,
        "kid is the RFC 7638 thumbprint"
    );
    let (input, sig) = token.rsplit_once('.').expect("sig");
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).expect("b64")).expect("sig");
    key.verify_strict(input.as_bytes(), &sig).is_ok()
}

async fn issued_card_verifies_and_follows_the_profile(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let id = id_number("50010419850312001");
    let card = issued(&app, issue_request(&id, "C", "profile-1")).await;
    assert_eq!(card.status, "active");
    assert_eq!(card.qr_payload, format!("NCTC1:{}", card.token));
    let card_no: talent_gateway::domain::CardNumber = card
        .card_id
        .parse()
        .expect("card number with check character");
    assert_eq!(card_no.as_str(), card.card_id);

    let h = header(&card.token);
    assert_eq!(h["alg"], "EdDSA");
    assert_eq!(h["typ"], "talent-card+jwt");
    assert_eq!(h["kid"], card.key_id.as_str());
    let c = claims(&card.token);
    assert_eq!(c["iss"], "urn:cn:500000:talent-card");
    assert_eq!(c["sub"], card.card_id.as_str());
    assert_eq!(c["name"], "张政昊");
    assert_eq!(c["tier"], "C");
    assert_eq!(c["cat"], "scientific_research");
    assert_eq!(c["district"], "500104");
    assert!(c["exp"].as_i64().expect("exp") > c["iat"].as_i64().expect("iat"));
    assert!(c["status"]["status_list"]["idx"].is_u64());
    assert!(!card.token.contains(&id) && !c.to_string().contains(&id[..14]));

    let bundle = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    assert!(verifies_with_jwks(&card.token, &bundle.jwks_json));
    assert!(bundle.sequence >= 1);

    for credential in [&card.token, &card.qr_payload] {
        let v = verify(&app, credential).await;
        assert!(v.valid, "{v:?}");
        assert_eq!(v.reason, "OK");
        assert_eq!(v.card_id, card.card_id);
        assert_eq!(v.native_tier, "C");
        assert_eq!(v.recognised_tier, "C");
        assert_eq!(v.issuer_region, "chongqing");
    }
    // One altered character in the signature is a bad signature, not an error.
    let mut forged = card.token.clone();
    let last = forged.pop().expect("char");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let v = verify(&app, &forged).await;
    assert!(!v.valid);
    assert!(
        v.reason == "BAD_SIGNATURE" || v.reason == "MALFORMED",
        "{v:?}"
    );
}
both_databases!(issued_card_verifies_and_follows_the_profile);

async fn revoked_card_verifies_as_revoked(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let card = own_card(&app, "50010419850312002", "B").await;
    let before = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    let empty = ops
        .revoke_card(pb::RevokeCardRequest {
            card_id: card.card_id.clone(),
            reason: " ".into(),
        })
        .await
        .expect_err("a revocation needs a reason");
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().contains("reason"));
    let revoked = ops
        .revoke_card(pb::RevokeCardRequest {
            card_id: card.card_id.clone(),
            reason: "left the region".into(),
        })
        .await
        .expect("revoked")
        .into_inner()
        .card
        .expect("card");
    assert_eq!(revoked.status, "revoked");
    assert_eq!(revoked.status_reason, "left the region");
    let v = verify(&app, &card.token).await;
    assert!(!v.valid);
    assert_eq!(v.reason, "REVOKED");

    // The published status list says so too, signed by a published key.
    let list = app
        .federation()
        .await
        .get_status_list(pb::GetStatusListRequest {})
        .await
        .expect("list")
        .into_inner();
    let jwks = app
        .federation()
        .await
        .get_trust_bundle(pb::GetTrustBundleRequest {})
        .await
        .expect("bundle")
        .into_inner();
    assert!(
        jwks.sequence > before.sequence,
        "a revocation moves the sequence"
    );
    assert!(verifies_with_jwks(&list.status_list_token, &jwks.jwks_json));
    assert_eq!(header(&list.status_list_token)["typ"], "statuslist+jwt");
    let sl = claims(&list.status_list_token);
    assert_eq!(sl["status_list"]["bits"], 2);
    let decoded = talent_gateway::credential::StatusList::decode(
        sl["status_list"]["lst"].as_str().expect("lst"),
        1 << 24,
    )
    .expect("decodes");
    let idx = claims(&card.token)["status"]["status_list"]["idx"]
        .as_u64()
        .expect("idx") as usize;
    assert_eq!(decoded.get(idx), 1);

    // Final: no resume, no second revocation, no renewal.
    let again = ops
        .resume_card(pb::ResumeCardRequest {
            card_id: card.card_id.clone(),
        })
        .await
        .expect_err("final");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let renew = ops
        .renew_card(pb::RenewCardRequest {
            card_id: card.card_id.clone(),
            valid_days: 30,
            idempotency_key: String::new(),
        })
        .await
        .expect_err("final");
    assert_eq!(renew.code(), Code::FailedPrecondition);
}
both_databases!(revoked_card_verifies_as_revoked);

async fn suspension_and_resumption(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let card = own_card(&app, "50010419850312003", "A").await;
    ops.suspend_card(pb::SuspendCardRequest {
        card_id: card.card_id.clone(),
        reason: "under review".into(),
    })
    .await
    .expect("suspended");
    assert_eq!(verify(&app, &card.token).await.reason, "SUSPENDED");
    let resumed = ops
        .resume_card(pb::ResumeCardRequest {
            card_id: card.card_id.clone(),
        })
        .await
        .expect("resumed")
        .into_inner()
        .card
        .expect("card");
    assert_eq!(resumed.status, "active");
    assert_eq!(verify(&app, &card.token).await.reason, "OK");
    let twice = ops
        .resume_card(pb::ResumeCardRequest {
            card_id: card.card_id.clone(),
        })
        .await
        .expect_err("not suspended");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let missing = ops
        .get_card(pb::GetCardRequest {
            card_id: "CQ0000000000000".into(),
        })
        .await
        .expect_err("typo");
    assert_eq!(
        missing.code(),
        Code::InvalidArgument,
        "a typo is caught by the check character"
    );
}
both_databases!(suspension_and_resumption);

async fn concurrent_issues_with_one_idempotency_key_make_one_card(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let req = issue_request(&id_number("50010419850312004"), "D", "same-key");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut client = app.issuance(Some("operator")).await;
        let req = req.clone();
        tasks.push(tokio::spawn(async move { client.issue_card(req).await }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        let card = t
            .await
            .expect("task")
            .expect("issued")
            .into_inner()
            .card
            .expect("card");
        ids.insert(card.card_id);
        tokens.insert(card.token);
    }
    assert_eq!(ids.len(), 1, "one idempotency key, one card: {ids:?}");
    assert_eq!(tokens.len(), 1, "a retry returns the original token");
    let mut other = req.clone();
    other.tier = "A".into();
    let err = app
        .issuance(Some("operator"))
        .await
        .issue_card(other)
        .await
        .expect_err("key reused");
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(err.message().contains("idempotency_key"));
}
both_databases!(concurrent_issues_with_one_idempotency_key_make_one_card);

async fn bad_input_names_the_field_and_writes_nothing(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let good = issue_request(&id_number("50010419850312005"), "E", "bad-then-good");
    type Spoil = Box<dyn Fn(&mut pb::IssueCardRequest)>;
    let cases: Vec<(&str, Spoil)> = vec![
        (
            "id_number",
            Box::new(|r| r.id_number = "340524198001010010".into()),
        ),
        ("id_number", Box::new(|r| r.id_number = String::new())),
        ("tier", Box::new(|r| r.tier = "Z".into())),
        ("tier", Box::new(|r| r.tier = "AB".into())),
        ("holder_name", Box::new(|r| r.holder_name = "  ".into())),
        ("category", Box::new(|r| r.category = "astrology".into())),
        ("valid_days", Box::new(|r| r.valid_days = 0)),
        ("valid_days", Box::new(|r| r.valid_days = 5000)),
        (
            "holder_public_key",
            Box::new(|r| r.holder_public_key = vec![1, 2, 3]),
        ),
    ];
    for (field, spoil) in cases {
        let mut bad = good.clone();
        spoil(&mut bad);
        let err = ops.issue_card(bad).await.expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(
            err.message().starts_with(field),
            "{field}: {}",
            err.message()
        );
    }
    // Nothing was written: the same idempotency key now issues the good request.
    let card = issued(&app, good).await;
    assert_eq!(card.tier, "E");
}
both_databases!(bad_input_names_the_field_and_writes_nothing);

async fn one_live_card_per_holder(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let id = id_number("50010419850312006");
    let first = issued(&app, issue_request(&id, "C", "live-1")).await;
    let second = ops
        .issue_card(issue_request(&id, "B", "live-2"))
        .await
        .expect_err("second live card");
    assert_eq!(second.code(), Code::AlreadyExists);
    assert!(second.message().starts_with("id_number"));
    ops.revoke_card(pb::RevokeCardRequest {
        card_id: first.card_id,
        reason: "reissue".into(),
    })
    .await
    .expect("revoked");
    let third = issued(&app, issue_request(&id, "B", "live-2")).await;
    assert_eq!(third.tier, "B");
}
both_databases!(one_live_card_per_holder);

async fn renewal_keeps_the_number_and_moves_the_expiry(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let mut req = issue_request(&id_number("50010419850312007"), "F", "");
    req.valid_days = 10;
    let card = issued(&app, req).await;
    let renewed = ops
        .renew_card(pb::RenewCardRequest {
            card_id: card.card_id.clone(),
            valid_days: 400,
            idempotency_key: "renew-1".into(),
        })
        .await
        .expect("renewed")
        .into_inner()
        .card
        .expect("card");
    assert_eq!(renewed.card_id, card.card_id);
    assert!(
        renewed.expires_at.expect("exp").seconds
            > card.expires_at.expect("exp").seconds + 300 * 86_400
    );
    assert_eq!(
        claims(&renewed.token)["status"],
        claims(&card.token)["status"],
        "same status entry"
    );
    assert_eq!(verify(&app, &renewed.token).await.reason, "OK");
    let retry = ops
        .renew_card(pb::RenewCardRequest {
            card_id: card.card_id.clone(),
            valid_days: 400,
            idempotency_key: "renew-1".into(),
        })
        .await
        .expect("retried")
        .into_inner()
        .card
        .expect("card");
    assert_eq!(
        retry.token, renewed.token,
        "a retried renewal returns the original token"
    );
}
both_databases!(renewal_keeps_the_number_and_moves_the_expiry);

async fn bulk_issue_reports_each_row(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let mut cards: Vec<_> = (0..60)
        .map(|i| {
            issue_request(
                &id_number(&format!("51070419900101{i:03}")),
                "D",
                &format!("bulk-{i}"),
            )
        })
        .collect();
    cards[7].tier = "Q".into();
    cards[9].id_number = cards[8].id_number.clone();
    cards[9].idempotency_key = "bulk-dup".into();
    let results = ops
        .issue_cards(pb::IssueCardsRequest {
            cards: cards.clone(),
        })
        .await
        .expect("batch")
        .into_inner()
        .results;
    assert_eq!(results.len(), 60);
    use pb::issue_cards_result::Outcome;
    for (i, r) in results.iter().enumerate() {
        match (i, r.outcome.as_ref().expect("outcome")) {
            (7, Outcome::Error(e)) => assert_eq!(e.code, Code::InvalidArgument as i32),
            (9, Outcome::Error(e)) => assert_eq!(e.code, Code::AlreadyExists as i32),
            (7 | 9, other) => panic!("row {i} should fail: {other:?}"),
            (_, Outcome::Card(c)) => assert_eq!(c.tier, "D"),
            (_, Outcome::Error(e)) => panic!("row {i}: {e:?}"),
        }
    }
    // The same batch again: every issued row comes back as it was, nothing doubles.
    let again = ops
        .issue_cards(pb::IssueCardsRequest { cards })
        .await
        .expect("batch")
        .into_inner()
        .results;
    for (a, b) in results.iter().zip(&again) {
        if let (Some(Outcome::Card(x)), Some(Outcome::Card(y))) = (&a.outcome, &b.outcome) {
            assert_eq!(x.card_id, y.card_id);
        }
    }
}
both_databases!(bulk_issue_reports_each_row);

#[tokio::test]
async fn no_response_or_log_line_contains_an_id_number() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let mut ops = app.issuance(Some("operator")).await;
    let id = id_number("50010419770707077");
    let mut seen = String::new();
    let card = issued(&app, issue_request(&id, "C", "pii-1")).await;
    seen.push_str(&format!("{card:?}"));
    let retry = ops
        .issue_card(issue_request(&id, "C", "pii-1"))
        .await
        .expect("retry");
    seen.push_str(&format!("{retry:?}"));
    let conflict = ops
        .issue_card(issue_request(&id, "C", "pii-2"))
        .await
        .expect_err("conflict");
    seen.push_str(&format!("{conflict:?}"));
    let mut bad = issue_request(&id, "C", "pii-3");
    bad.id_number.replace_range(17.., "0");
    let refused = ops.issue_card(bad).await.expect_err("bad check");
    seen.push_str(&format!("{refused:?}"));
    seen.push_str(&format!(
        "{:?}",
        ops.get_card(pb::GetCardRequest {
            card_id: card.card_id.clone()
        })
        .await
    ));
    seen.push_str(&format!("{:?}", verify(&app, &card.token).await));
    seen.push_str(
        &URL_SAFE_NO_PAD
            .decode(card.token.split('.').nth(1).expect("payload"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
    );
    seen.push_str(&app.logs());
    for needle in [&id[..], &id[..17], &id[6..14]] {
        assert!(
            !seen.contains(needle),
            "{needle} appears in a response or log"
        );
    }
}
