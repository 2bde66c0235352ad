//! Entitlements: catalogues, the agreement's mapping, redemption at counters.

use super::Context;
use super::convert::entitlements;
use super::error::not_built;
use crate::domain::Role;
use crate::pb::{self, entitlements_server::Entitlements};
use crate::service::ServiceError;
use tonic::{Request, Response, Status};

/// The Entitlements service.
pub struct EntitlementsApi(pub Context);

#[tonic::async_trait]
impl Entitlements for EntitlementsApi {
    async fn list_services(
        &self,
        req: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        let mut region = req.into_inner().region;
        if region.trim().is_empty() {
            region = self.0.gateway.region().to_owned();
        }
        let active = self.0.gateway.catalogue();
        let r = active
            .catalogue
            .region(&region)
            .ok_or_else(|| ServiceError::invalid("region", format!("unknown region {region:?}")))?;
        Ok(Response::new(pb::ListServicesResponse {
            region: r.id.clone(),
            catalogue_version: active.catalogue.version.clone(),
            services: r
                .services
                .iter()
                .map(|s| pb::Service {
                    service_code: s.code.clone(),
                    name_zh: s.name_zh.clone(),
                    name_en: s.name_en.clone(),
                    tiers: s.tiers.iter().map(|t| t.as_str().to_owned()).collect(),
                    quota: s.quota.to_string(),
                })
                .collect(),
        }))
    }

    async fn map_entitlements(
        &self,
        req: Request<pb::MapEntitlementsRequest>,
    ) -> Result<Response<pb::MapEntitlementsResponse>, Status> {
        let r = req.into_inner();
        let m = self
            .0
            .gateway
            .map_entitlements(&r.from_region, &r.tier, &r.to_region)?;
        Ok(Response::new(pb::MapEntitlementsResponse {
            entries: entitlements(&m.lines, &r.language),
            recognised_tier: m.recognised_tier.as_str().to_owned(),
            catalogue_version: m.version,
        }))
    }

    async fn redeem_service(
        &self,
        req: Request<pb::RedeemServiceRequest>,
    ) -> Result<Response<pb::RedeemServiceResponse>, Status> {
        let caller = super::caller_of(&req);
        self.0.access.require(
            &self.0.gateway,
            &caller,
            &[Role::Counter, Role::Operator],
            "Entitlements.RedeemService",
        )?;
        Err(not_built(
            "Entitlements.RedeemService",
            "redemption with shared quotas",
        ))
    }
}
