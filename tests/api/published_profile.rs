//! `profile = "published"`: the partner's token profile comes from its trust bundle, checked
//! at every poll. A refused one (an algorithm off the allow-list, or none at all, as from a
//! gateway of an earlier version) leaves the last good one in force and shows in the
//! partner's `last_error`; a changed good one is taken at the next poll. The partner here is
//! a stand-in Federation server that publishes whatever the test says, over real TLS.

use crate::both_databases;
use crate::fixtures::now;
use crate::helpers::{Db, TestApp, eventually, free_addr, verify};
use crate::mianyang::Mianyang;
use crate::tianfu;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use talent_gateway::pb;
use tonic::{Request, Response, Status};

/// Chengdu's gateway as its partners see it: a bundle with `profile`, a signed status list.
#[derive(Clone)]
struct StandIn {
    key: ed25519_dalek::SigningKey,
    profile: Arc<Mutex<String>>,
}

impl StandIn {
    fn publish(&self, profile: &str) {
        *self.profile.lock().expect("lock") = profile.to_owned();
    }

    fn card(&self, typ: &str) -> String {
        let t = now();
        Mianyang::sign_ed(
            &json!({"alg": "EdDSA", "kid": "tf-ed-1", "typ": typ}),
            &json!({"iss": tianfu::ISSUER, "cardNumber": "TF510100000042", "name": "张蓉", "grade": "B", "iat": t - 60, "exp": t + 3600}),
            &self.key,
        )
    }
}

#[tonic::async_trait]
impl pb::federation_server::Federation for StandIn {
    async fn get_trust_bundle(
        &self,
        _: Request<pb::GetTrustBundleRequest>,
    ) -> Result<Response<pb::GetTrustBundleResponse>, Status> {
        Ok(Response::new(pb::GetTrustBundleResponse {
            jwks_json: json!({"keys": [Mianyang::jwk_ed("tf-ed-1", &self.key)]}).to_string(),
            sequence: 1,
            issuer: tianfu::ISSUER.into(),
            region: "chengdu".into(),
            refresh_millis: 200,
            profile_toml: self.profile.lock().expect("lock").clone(),
            ..Default::default()
        }))
    }

    async fn get_status_list(
        &self,
        _: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        let lst = talent_gateway::credential::StatusList::new(1024).encode();
        let token = Mianyang::sign_ed(
            &json!({"alg": "EdDSA", "kid": "tf-ed-1", "typ": "statuslist+jwt"}),
            &json!({"iss": tianfu::ISSUER, "sub": "urn:cn:510100:tianfu-talent-card:status-list:1", "iat": now(), "exp": now() + 300, "status_list": {"bits": 2, "lst": lst}}),
            &self.key,
        );
        Ok(Response::new(pb::GetStatusListResponse {
            status_list_token: token,
            sequence: 1,
        }))
    }

    async fn reserve_quota(
        &self,
        _: Request<pb::ReserveQuotaRequest>,
    ) -> Result<Response<pb::ReserveQuotaResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn get_federation_status(
        &self,
        _: Request<pb::GetFederationStatusRequest>,
    ) -> Result<Response<pb::GetFederationStatusResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn get_offline_bundle(
        &self,
        _: Request<pb::GetOfflineBundleRequest>,
    ) -> Result<Response<pb::GetOfflineBundleResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn witness_checkpoint(
        &self,
        _: Request<pb::WitnessCheckpointRequest>,
    ) -> Result<Response<pb::WitnessCheckpointResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn get_witnessed_checkpoints(
        &self,
        _: Request<pb::GetWitnessedCheckpointsRequest>,
    ) -> Result<Response<pb::GetWitnessedCheckpointsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

async fn last_error(app: &TestApp) -> Option<String> {
    pb::federation_client::FederationClient::new(app.channel(Some("operator")).await)
        .get_federation_status(pb::GetFederationStatusRequest {})
        .await
        .ok()?
        .into_inner()
        .partners
        .into_iter()
        .find(|p| p.partner_id == "chengdu" && p.last_refresh.is_some())
        .map(|p| p.last_error)
}

async fn a_published_profile_is_checked_at_every_poll(db: Db) {
    let pki = tempfile::tempdir().expect("tempdir");
    let certs = pki.path().join("certs");
    talent_gateway::dev_certs::generate_for(&certs, "cd.talent", "cq.talent", "chengdu")
        .expect("dev certs");
    let stand_in = StandIn {
        key: ed25519_dalek::SigningKey::from_bytes(&rand::random()),
        profile: Arc::new(Mutex::new(String::new())),
    };
    let good = tianfu::profile_toml("\"EdDSA\"");
    stand_in.publish(&good);
    let addr = free_addr();
    let identity = tonic::transport::Identity::from_pem(
        std::fs::read(certs.join("server.pem")).expect("cert"),
        std::fs::read(certs.join("server.key")).expect("key"),
    );
    let server = tonic::transport::Server::builder()
        .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
        .expect("tls")
        .add_service(pb::federation_server::FederationServer::new(
            stand_in.clone(),
        ))
        .serve(addr.parse().expect("addr"));
    let serving = tokio::spawn(server);

    let config = format!(
        "[federation]\ncall_timeout_millis = 5000\n\n[[partners]]\nid = \"chengdu\"\nprofile = \"published\"\n\
         issuer = \"{}\"\nfederation_endpoint = \"https://{addr}\"\nclient_ca = \"{}\"\n\
         spiffe_id = \"spiffe://cd.talent/partner/chengdu\"\n",
        tianfu::ISSUER,
        certs.join("ca.pem").display()
    );
    let app = TestApp::builder().db(db).config(&config).spawn().await;
    let old_card = stand_in.card("JWT");
    // Read by the published profile: its claim names, its QR prefix.
    let v = eventually(
        Duration::from_secs(10),
        "published profile taken",
        || async {
            let v = verify(&app, &format!("TFRC1:{old_card}")).await;
            (v.reason != "UNKNOWN_ISSUER").then_some(v)
        },
    )
    .await;
    assert_eq!(
        (
            v.issuer_region.as_str(),
            v.card_id.as_str(),
            v.native_tier.as_str()
        ),
        ("chengdu", "TF510100000042", "B"),
        "{v:?}"
    );

    // An algorithm off the allow-list: refused, said in last_error, the last good one stays.
    stand_in.publish(&tianfu::profile_toml("\"EdDSA\", \"HS256\""));
    let e = eventually(Duration::from_secs(10), "refusal noted", || async {
        last_error(&app).await.filter(|e| !e.is_empty())
    })
    .await;
    assert!(e.contains("\"HS256\" is not allowed"), "{e}");
    assert_eq!(verify(&app, &old_card).await.card_id, "TF510100000042");

    // A good change is taken at the next poll: cards of the old typ are refused.
    stand_in.publish(&good.replace("typ = \"JWT\"", "typ = \"tianfu-card+jwt\""));
    eventually(Duration::from_secs(10), "changed profile taken", || async {
        (verify(&app, &old_card).await.reason == "WRONG_TYPE").then_some(())
    })
    .await;
    assert_eq!(last_error(&app).await.as_deref(), Some(""));
    let new_card = stand_in.card("tianfu-card+jwt");
    assert_eq!(verify(&app, &new_card).await.card_id, "TF510100000042");

    // None at all (a gateway of an earlier version): refused; the last good one stays.
    stand_in.publish("");
    let e = eventually(Duration::from_secs(10), "missing profile noted", || async {
        last_error(&app).await.filter(|e| !e.is_empty())
    })
    .await;
    assert!(e.contains("publishes no token profile"), "{e}");
    assert_eq!(verify(&app, &old_card).await.reason, "WRONG_TYPE");
    assert_eq!(verify(&app, &new_card).await.card_id, "TF510100000042");
    serving.abort();
}
both_databases!(a_published_profile_is_checked_at_every_poll);
