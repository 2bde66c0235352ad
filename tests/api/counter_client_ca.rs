//! Counter tokens work when partners have a `client_ca` (issue #14, part 3): with a partner
//! CA configured, a counter's browser (a bearer counter token, no client certificate) used to
//! get PERMISSION_DENIED "... is not vouched for by the CA bound to its trust domain".
//! Two federated gateways, each binding the other's CA, redeem through the page's path.

use crate::both_databases;
use crate::federation::{issue, two_regions_up};
use crate::fixtures::redeem_request;
use crate::helpers::{Db, TestApp, counter_token, eventually, with_token};
use crate::web::{frame, http1, unframe};
use prost::Message;
use std::time::Duration;
use talent_gateway::pb;

/// RedeemService over gRPC (HTTP/2) with `authorization: Bearer token` and no certificate.
async fn redeem_grpc(
    app: &TestApp,
    token: &str,
    req: pb::RedeemServiceRequest,
) -> Result<pb::RedeemServiceResponse, tonic::Status> {
    pb::entitlements_client::EntitlementsClient::new(with_token(app, None, token).await)
        .redeem_service(req)
        .await
        .map(|r| r.into_inner())
}

/// RedeemService as the counter page sends it: gRPC-Web over HTTP/1.1, the bearer token in
/// `authorization`, no client certificate. The answer, or the trailers' text.
fn redeem_web(
    app: &TestApp,
    token: &str,
    req: &pb::RedeemServiceRequest,
) -> Result<pb::RedeemServiceResponse, String> {
    let bearer = format!("Bearer {token}");
    let res = http1(
        app,
        "POST",
        "/talentcard.v1.Entitlements/RedeemService",
        &[
            ("Content-Type", "application/grpc-web+proto"),
            ("Accept", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
            ("Authorization", &bearer),
        ],
        &frame(req),
    );
    let (messages, trailers) = unframe(&res.body);
    let status = res
        .header("grpc-status")
        .map(|s| {
            format!(
                "grpc-status:{s} {}",
                res.header("grpc-message").unwrap_or("")
            )
        })
        .unwrap_or(trailers);
    match messages.first() {
        Some(m) if status.contains("grpc-status:0") => {
            Ok(pb::RedeemServiceResponse::decode(m.as_slice()).expect("decodes"))
        }
        _ => Err(status),
    }
}

async fn counter_tokens_redeem_when_partners_have_a_client_ca(db: Db) {
    let (cq, my) = two_regions_up(db).await;
    let own = issue(&cq, "11010519800101021", "B", "cq-ca-1").await;
    let visitor = issue(&my, "51070019850202022", "C", "my-ca-1").await;
    eventually(Duration::from_secs(10), "Mianyang card trusted", || async {
        crate::helpers::verify(&cq, &visitor.qr_payload)
            .await
            .valid
            .then_some(())
    })
    .await;
    let token = counter_token(&cq, "desk-1", 2).await.token;

    // An own card, over gRPC and over the page's gRPC-Web.
    let done = redeem_grpc(&cq, &token, redeem_request(&own.qr_payload, "CQ12", "ca-1"))
        .await
        .expect("a counter token redeems with partner CAs bound");
    assert_eq!(done.remaining, 5);
    let done = redeem_web(
        &cq,
        &token,
        &redeem_request(&own.qr_payload, "CQ12", "ca-2"),
    )
    .expect("the page's path redeems");
    assert_eq!(done.remaining, 4);

    // A visitor's counted service: reserved at the home region over mutual TLS (its CA
    // bound to the partner identity), then recorded here as desk-1.
    let done = redeem_web(
        &cq,
        &token,
        &redeem_request(&visitor.qr_payload, "CQ10", "ca-3"),
    )
    .expect("a visitor's counted service through the page's path");
    assert_eq!(done.remaining, 0);
    let listed =
        pb::entitlements_client::EntitlementsClient::new(with_token(&cq, None, &token).await)
            .list_redemptions(pb::ListRedemptionsRequest {
                card_id: visitor.card_id.clone(),
                ..Default::default()
            })
            .await
            .expect("listed")
            .into_inner()
            .redemptions;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].counter, "spiffe://cq.talent/counter/desk-1");
    // The home region counted it: the allowance is used up there too.
    let home = redeem_web(
        &my,
        &counter_token(&my, "desk-9", 2).await.token,
        &redeem_request(&visitor.qr_payload, "MY07", "ca-4"),
    )
    .expect_err("used up at home");
    assert!(home.contains("grpc-status:8"), "{home}");

    // Partner CAs still vouch only for their partner: a counter certificate from the
    // Mianyang CA is refused in Chongqing.
    let foreign = cq
        .channel_with(Some("counter"), &my.certs)
        .await
        .expect("the handshake accepts a chain to any bound CA");
    let err = pb::entitlements_client::EntitlementsClient::new(foreign)
        .redeem_service(redeem_request(&own.qr_payload, "CQ12", "ca-5"))
        .await
        .expect_err("a partner CA does not vouch for counters");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
}
both_databases!(counter_tokens_redeem_when_partners_have_a_client_ca);
