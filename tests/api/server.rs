//! The foundation: TLS, health, reflection, roles from certificates, limits, shutdown.

use crate::both_databases;
use crate::fixtures::{id_number, issue_request};
use crate::helpers::{Db, TestApp, health_of};
use talent_gateway::pb;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn health_is_serving_and_sigterm_exits_zero(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let channel = app.channel(None).await;
    assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
    assert_eq!(
        health_of(channel, "talentcard.v1.Verification").await,
        ServingStatus::Serving
    );
    let exit = app.terminate();
    assert_eq!(exit.code(), Some(0), "logs:\n{}", app.logs());
}
both_databases!(health_is_serving_and_sigterm_exits_zero);

#[tokio::test]
async fn reflection_lists_every_service() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let mut client = ServerReflectionClient::new(app.channel(None).await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .expect("reflection answers")
        .into_inner();
    let msg = stream.next().await.expect("one answer").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for want in [
        "talentcard.v1.CardIssuance",
        "talentcard.v1.Verification",
        "talentcard.v1.Entitlements",
        "talentcard.v1.Federation",
        "talentcard.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[tokio::test]
async fn the_role_comes_from_the_client_certificate() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let req = issue_request(&id_number("50010419900101123"), "C", "role-1");
    let ok = app
        .issuance(Some("operator"))
        .await
        .issue_card(req.clone())
        .await;
    assert!(ok.is_ok(), "operator may issue: {ok:?}");
    let counter = app
        .issuance(Some("counter"))
        .await
        .issue_card(req.clone())
        .await;
    assert_eq!(
        counter.expect_err("counter may not issue").code(),
        Code::PermissionDenied
    );
    let partner = app
        .issuance(Some("partner"))
        .await
        .issue_card(req.clone())
        .await;
    assert_eq!(
        partner.expect_err("partner may not issue").code(),
        Code::PermissionDenied
    );
    let public = app.issuance(None).await.issue_card(req).await;
    assert_eq!(
        public.expect_err("public may not issue").code(),
        Code::Unauthenticated
    );
    // A public caller may still verify.
    let mut v = pb::verification_client::VerificationClient::new(app.channel(None).await);
    let r = v
        .verify_card(pb::VerifyCardRequest {
            credential: "garbage".into(),
            ..Default::default()
        })
        .await
        .expect("public may verify")
        .into_inner();
    assert_eq!(r.reason, "MALFORMED");
}

#[tokio::test]
async fn a_pinned_trust_domain_refuses_other_domains() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config("trust_domain = \"other.talent\"\n")
        .spawn()
        .await;
    let req = issue_request(&id_number("50010419900101124"), "C", "pin-1");
    let r = app.issuance(Some("operator")).await.issue_card(req).await;
    assert_eq!(
        r.expect_err("not our trust domain").code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let other = tempfile::tempdir().expect("tempdir");
    talent_gateway::dev_certs::generate(other.path(), "cq.talent", "my.talent").expect("pki");
    let refused = match app.channel_with(Some("operator"), other.path()).await {
        Err(_) => true,
        Ok(ch) => pb::card_issuance_client::CardIssuanceClient::new(ch)
            .get_card(pb::GetCardRequest {
                card_id: "x".into(),
            })
            .await
            .is_err_and(|s| s.code() != Code::InvalidArgument),
    };
    assert!(
        refused,
        "a certificate from another CA must fail the TLS handshake"
    );
    // The server keeps serving its own callers.
    let ok = app
        .issuance(Some("operator"))
        .await
        .get_card(pb::GetCardRequest {
            card_id: "x".into(),
        })
        .await;
    assert_eq!(ok.expect_err("bad card id").code(), Code::InvalidArgument);
}

#[tokio::test]
async fn an_oversized_message_is_resource_exhausted_and_the_server_keeps_serving() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let mut v = app.verification().await;
    let huge = "a".repeat(100 * 1024);
    let err = v
        .verify_card(pb::VerifyCardRequest {
            credential: huge,
            ..Default::default()
        })
        .await
        .expect_err("past the 64 KiB limit");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // Under the transport limit but over 8 KiB: a MALFORMED verdict, not an error.
    let big = v
        .verify_card(pb::VerifyCardRequest {
            credential: "a".repeat(9 * 1024),
            ..Default::default()
        })
        .await
        .expect("a verdict")
        .into_inner();
    assert!(!big.valid);
    assert_eq!(big.reason, "MALFORMED");
}

#[tokio::test]
async fn quota_reservations_are_for_partners_only() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    // A public caller may not reserve quota.
    let mut public = pb::federation_client::FederationClient::new(app.channel(None).await);
    let r = public
        .reserve_quota(pb::ReserveQuotaRequest::default())
        .await
        .expect_err("public may not reserve");
    assert_eq!(r.code(), Code::Unauthenticated);
    let mut partner =
        pb::federation_client::FederationClient::new(app.channel(Some("partner")).await);
    let r = partner
        .reserve_quota(pb::ReserveQuotaRequest::default())
        .await
        .expect_err("an empty reservation is refused");
    // A partner may reserve, and an empty request names its field.
    assert_eq!(r.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn every_call_has_a_request_id_and_logs_are_json_lines() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config("log_format = \"json\"\n")
        .spawn()
        .await;
    let mut health = HealthClient::new(app.channel(None).await);
    let id_of = |meta: &tonic::metadata::MetadataMap| {
        meta.get("x-request-id")
            .expect("x-request-id in the answer")
            .to_str()
            .expect("text")
            .to_owned()
    };
    // A partner's own trace id is kept.
    let mut req = tonic::Request::new(HealthCheckRequest::default());
    req.metadata_mut()
        .insert("x-request-id", "mianyang-7f3a.01".parse().expect("value"));
    let answer = health.check(req).await.expect("health");
    assert_eq!(id_of(answer.metadata()), "mianyang-7f3a.01");
    // Otherwise one is made, different for each call, also on a refusal.
    let a = id_of(
        health
            .check(HealthCheckRequest::default())
            .await
            .expect("health")
            .metadata(),
    );
    let refused = app
        .issuance(None)
        .await
        .get_card(pb::GetCardRequest {
            card_id: "CQ0".into(),
        })
        .await
        .expect_err("no certificate");
    let b = id_of(refused.metadata());
    assert_ne!(a, b);
    assert_eq!((a.len(), b.len()), (24, 24));
    // Something that is not a plain token is not echoed into logs or answers.
    let mut req = tonic::Request::new(HealthCheckRequest::default());
    req.metadata_mut()
        .insert("x-request-id", "a\"b{c}".parse().expect("value"));
    let answer = health.check(req).await.expect("health");
    assert_ne!(id_of(answer.metadata()), "a\"b{c}");

    // Every log line (stdout's readiness line aside) is one JSON object.
    let logs = app.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| !l.starts_with("listening on"))
        .collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
}
