//! Entitlements: catalogues, the agreement's mapping, redemption at counters.

use super::Context;
use super::error::not_built;
use crate::domain::Role;
use crate::pb::{self, entitlements_server::Entitlements};
use tonic::{Request, Response, Status};

/// The Entitlements service.
pub struct EntitlementsApi(pub Context);

#[tonic::async_trait]
impl Entitlements for EntitlementsApi {
    async fn list_services(
        &self,
        _req: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        Err(not_built("Entitlements.ListServices", "catalogues"))
    }

    async fn map_entitlements(
        &self,
        _req: Request<pb::MapEntitlementsRequest>,
    ) -> Result<Response<pb::MapEntitlementsResponse>, Status> {
        Err(not_built(
            "Entitlements.MapEntitlements",
            "the agreement's mapping",
        ))
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
