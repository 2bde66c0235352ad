//! Counter tokens: a browser without a client certificate acts as a counter, and no more.

use crate::both_databases;
use crate::fixtures::{id_number, issue_request, redeem_request};
use crate::helpers::{Db, TestApp, counter_token, own_card, with_token};
use talent_gateway::pb;
use tonic::Code;

async fn a_counter_token_acts_as_that_counter_and_no_more(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "11010519491231002", "B").await;
    let issued = counter_token(&app, "desk-1", 12).await;
    assert_eq!(issued.counter, "spiffe://cq.talent/counter/desk-1");
    assert!(issued.expires_at.expect("exp").seconds > crate::fixtures::now() + 11 * 3600);

    // Without a certificate, the token is the counter: it may redeem, recorded as desk-1.
    let mut counter = pb::entitlements_client::EntitlementsClient::new(
        with_token(&app, None, &issued.token).await,
    );
    let done = counter
        .redeem_service(redeem_request(&card.qr_payload, "CQ12", "tok-1"))
        .await
        .expect("counter token redeems")
        .into_inner();
    assert_eq!(done.remaining, 5);
    let listed = counter
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card.card_id.clone(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.redemptions.len(), 1);
    assert_eq!(
        listed.redemptions[0].counter,
        "spiffe://cq.talent/counter/desk-1"
    );

    // ... and nothing an operator may do.
    let err = pb::card_issuance_client::CardIssuanceClient::new(
        with_token(&app, None, &issued.token).await,
    )
    .issue_card(issue_request(&id_number("11010519491231003"), "C", ""))
    .await
    .expect_err("a counter may not issue");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = pb::admin_client::AdminClient::new(with_token(&app, None, &issued.token).await)
        .issue_counter_token(pb::IssueCounterTokenRequest {
            name: "desk-2".into(),
            valid_hours: 1,
        })
        .await
        .expect_err("a counter may not mint tokens");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    // A token that is not one, or altered, is UNAUTHENTICATED with a clear message,
    // on the public verify path too.
    let altered = format!("{}x", issued.token);
    for bad in ["not-a-token", altered.as_str()] {
        let err =
            pb::entitlements_client::EntitlementsClient::new(with_token(&app, None, bad).await)
                .redeem_service(redeem_request(&card.qr_payload, "CQ12", "tok-2"))
                .await
                .expect_err("bad token refused");
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
        assert!(err.message().contains("counter token"), "{}", err.message());
        let err =
            pb::verification_client::VerificationClient::new(with_token(&app, None, bad).await)
                .verify_card(pb::VerifyCardRequest {
                    credential: card.qr_payload.clone(),
                    ..Default::default()
                })
                .await
                .expect_err("bad token refused on verify too");
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    }

    // A client certificate wins: the token beside it is not looked at.
    pb::card_issuance_client::CardIssuanceClient::new(
        with_token(&app, Some("operator"), "junk").await,
    )
    .issue_card(issue_request(&id_number("11010519491231004"), "C", ""))
    .await
    .expect("the operator's certificate decides");

    // Only operators issue tokens, for sensible names and lifetimes.
    let err = pb::admin_client::AdminClient::new(app.channel(Some("counter")).await)
        .issue_counter_token(pb::IssueCounterTokenRequest {
            name: "desk-3".into(),
            valid_hours: 1,
        })
        .await
        .expect_err("counter certificate may not mint tokens");
    assert_eq!(err.code(), Code::PermissionDenied);
    for (name, hours, field) in [
        ("desk/9", 1, "name"),
        ("desk-9", 0, "valid_hours"),
        ("desk-9", 25, "valid_hours"),
    ] {
        let err = app
            .admin()
            .await
            .issue_counter_token(pb::IssueCounterTokenRequest {
                name: name.into(),
                valid_hours: hours,
            })
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().starts_with(field), "{}", err.message());
    }
}
both_databases!(a_counter_token_acts_as_that_counter_and_no_more);

/// A counter token from the operator command line, as an operator would get one.
pub(crate) fn counter_token_from_cli(app: &TestApp, name: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .args([
            "counter",
            "token",
            "--name",
            name,
            "--valid-hours",
            "12",
            "--addr",
            &app.addr,
        ])
        .arg("--ca")
        .arg(app.certs.join("ca.pem"))
        .arg("--cert")
        .arg(app.certs.join("operator.pem"))
        .arg("--key")
        .arg(app.certs.join("operator.key"))
        .output()
        .expect("run talent-gateway counter token");
    assert!(
        out.status.success(),
        "counter token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    token
}
