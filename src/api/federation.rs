//! Federation: published keys and status for anyone; the rest for partners and operators.

use super::ApiContext;
use super::charge::{Charge, units};
use super::convert::timestamp;
use crate::domain::{Caller, Role};
use crate::pb::{self, federation_server::Federation};
use crate::service::ReserveRequest;
use tonic::{Request, Response, Status};

/// The Federation service.
pub struct FederationApi(pub ApiContext);

#[tonic::async_trait]
impl Federation for FederationApi {
    async fn get_trust_bundle(
        &self,
        _req: Request<pb::GetTrustBundleRequest>,
    ) -> Result<Response<pb::GetTrustBundleResponse>, Status> {
        let gw = &self.0.services.federation;
        Ok(Response::new(pb::GetTrustBundleResponse {
            jwks_json: gw.jwks_json(),
            catalogue_version: self.0.services.state.catalogue().catalogue.version.clone(),
            sequence: gw.sequence(),
            issuer: gw.issuer().to_owned(),
            region: gw.region().to_owned(),
            status_list_uri: gw.status_list_uri().to_owned(),
            refresh_seconds: gw.refresh_hint_seconds(),
            refresh_millis: gw.refresh_hint_millis(),
            revoked_keys: gw
                .revoked_keys()
                .into_iter()
                .map(|r| pb::RevokedKey {
                    kid: r.kid,
                    revoked_at: timestamp(r.revoked_at),
                    reason: r.reason,
                })
                .collect(),
            profile_toml: gw.profile_toml(),
        }))
    }

    async fn get_status_list(
        &self,
        _req: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        let gw = &self.0.services.federation;
        Ok(Response::new(pb::GetStatusListResponse {
            status_list_token: gw.status_list_token()?,
            sequence: gw.sequence(),
        }))
    }

    async fn reserve_quota(
        &self,
        req: Request<pb::ReserveQuotaRequest>,
    ) -> Result<Response<pb::ReserveQuotaResponse>, Status> {
        let caller = self.0.authorize(&req, "Federation.ReserveQuota")?;
        // One unit was charged before the body was read; a proof is one more.
        Charge::call(
            &req,
            units(1, usize::from(!req.get_ref().holder_proof.is_empty())),
        )?;
        let request = ReserveRequest::from(req.into_inner());
        let done = self
            .0
            .services
            .federation
            .reserve_quota(&caller.subject(), request)
            .await?;
        Ok(Response::new(done.into()))
    }

    async fn get_federation_status(
        &self,
        req: Request<pb::GetFederationStatusRequest>,
    ) -> Result<Response<pb::GetFederationStatusResponse>, Status> {
        let caller = self.0.authorize(&req, "Federation.GetFederationStatus")?;
        let partner = match &caller {
            Caller::Identified(id) if id.role() == Role::Partner => Some(id.to_string()),
            _ => None,
        };
        let partners = self
            .0
            .services
            .federation
            .federation_status(partner.as_deref())
            .await?;
        Ok(Response::new(pb::GetFederationStatusResponse {
            partners: partners.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_offline_bundle(
        &self,
        _req: Request<pb::GetOfflineBundleRequest>,
    ) -> Result<Response<pb::GetOfflineBundleResponse>, Status> {
        // Open to everyone and charged like GetStatusList: the one unit the layer took.
        Ok(Response::new(pb::GetOfflineBundleResponse {
            bundle: self
                .0
                .services
                .federation
                .offline_bundle()
                .await?
                .to_string(),
        }))
    }

    async fn witness_checkpoint(
        &self,
        req: Request<pb::WitnessCheckpointRequest>,
    ) -> Result<Response<pb::WitnessCheckpointResponse>, Status> {
        let caller = self.0.authorize(&req, "Federation.WitnessCheckpoint")?;
        let countersignature = self
            .0
            .services
            .federation
            .witness_checkpoint(&caller.subject(), &req.get_ref().checkpoint)
            .await?;
        Ok(Response::new(pb::WitnessCheckpointResponse {
            countersignature,
        }))
    }

    async fn get_witnessed_checkpoints(
        &self,
        req: Request<pb::GetWitnessedCheckpointsRequest>,
    ) -> Result<Response<pb::GetWitnessedCheckpointsResponse>, Status> {
        let caller = self
            .0
            .authorize(&req, "Federation.GetWitnessedCheckpoints")?;
        let after = i64::try_from(req.get_ref().after_sequence)
            .map_err(|_| Status::invalid_argument("after_sequence: out of range"))?;
        let held = self
            .0
            .services
            .federation
            .witnessed_checkpoints(&caller.subject(), after)
            .await?;
        Ok(Response::new(pb::GetWitnessedCheckpointsResponse {
            checkpoints: held
                .into_iter()
                .map(|c| pb::WitnessedCheckpoint {
                    checkpoint: c.checkpoint,
                    countersignature: c.countersignature,
                    witnessed_at: timestamp(c.witnessed_at),
                })
                .collect(),
        }))
    }
}
