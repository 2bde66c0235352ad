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
        let gw = &self.0.gateway;
        Ok(Response::new(pb::GetTrustBundleResponse {
            jwks_json: gw.jwks_json(),
            catalogue_version: gw.catalogue().catalogue.version.clone(),
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
            profile_toml: gw.own_profile.to_toml(),
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
        let caller = self.0.authorize(&req, "Federation.ReserveQuota")?;
        // One unit was charged before the body was read; a proof is one more.
        Charge::call(
            &req,
            units(1, usize::from(!req.get_ref().holder_proof.is_empty())),
        )?;
        let r = req.into_inner();
        let done = self
            .0
            .gateway
            .reserve_quota(
                &caller.subject(),
                ReserveRequest {
                    issuer: r.issuer,
                    card_id: r.card_id,
                    service_code: r.service_code,
                    idempotency_key: r.idempotency_key,
                    credential: r.credential,
                    holder_proof: r.holder_proof,
                },
            )
            .await?;
        Ok(Response::new(pb::ReserveQuotaResponse {
            reservation_id: done.reservation_id,
            remaining: done.remaining,
            period_end: timestamp(done.period_end),
        }))
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
        let partners = self.0.gateway.federation_status(partner.as_deref()).await?;
        Ok(Response::new(pb::GetFederationStatusResponse {
            partners: partners
                .into_iter()
                .map(|p| pb::PartnerStatus {
                    partner_id: p.partner_id,
                    last_refresh: p.last_refresh_ms.map(|ms| prost_types::Timestamp {
                        seconds: ms.div_euclid(1000),
                        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
                    }),
                    sequence: p.sequence.max(0) as u64,
                    lag_seconds: p.lag_seconds,
                    last_error: p.last_error,
                    kids: p.kids,
                    stale: p.stale,
                    catalogue_version: p.catalogue_version,
                })
                .collect(),
        }))
    }
}
