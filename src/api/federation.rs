//! Federation: published keys and status for anyone; the rest for partners and operators.

use super::Context;
use super::error::not_built;
use crate::domain::Role;
use crate::pb::{self, federation_server::Federation};
use tonic::{Request, Response, Status};

/// The Federation service.
pub struct FederationApi(pub Context);

#[tonic::async_trait]
impl Federation for FederationApi {
    async fn get_trust_bundle(
        &self,
        _req: Request<pb::GetTrustBundleRequest>,
    ) -> Result<Response<pb::GetTrustBundleResponse>, Status> {
        let gw = &self.0.gateway;
        Ok(Response::new(pb::GetTrustBundleResponse {
            jwks_json: gw.jwks_json(),
            catalogue_version: gw.catalogue().catalogue.version.clone(),
            sequence: gw.sequence(),
            issuer: gw.issuer().to_owned(),
            region: gw.region().to_owned(),
            status_list_uri: gw.status_list_uri().to_owned(),
            refresh_seconds: gw.refresh_hint_seconds(),
        }))
    }

    async fn get_status_list(
        &self,
        _req: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        let gw = &self.0.gateway;
        Ok(Response::new(pb::GetStatusListResponse {
            status_list_token: gw.status_list_token()?,
            sequence: gw.sequence(),
        }))
    }

    async fn reserve_quota(
        &self,
        req: Request<pb::ReserveQuotaRequest>,
    ) -> Result<Response<pb::ReserveQuotaResponse>, Status> {
        self.0.authorize(
            &req,
            &[Role::Operator, Role::Partner],
            "Federation.ReserveQuota",
        )?;
        Err(not_built(
            "Federation.ReserveQuota",
            "federation of shared quotas",
        ))
    }

    async fn get_federation_status(
        &self,
        req: Request<pb::GetFederationStatusRequest>,
    ) -> Result<Response<pb::GetFederationStatusResponse>, Status> {
        self.0.authorize(
            &req,
            &[Role::Operator, Role::Partner],
            "Federation.GetFederationStatus",
        )?;
        Err(not_built("Federation.GetFederationStatus", "federation"))
    }
}
