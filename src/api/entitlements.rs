//! Entitlements: catalogues, the agreement's mapping, redemption at counters.

use super::ApiContext;
use super::charge::{Charge, units};
use super::convert::{RedemptionPage, entitlements, idempotency_key, timestamp};
use crate::pb::{self, entitlements_server::Entitlements};
use crate::service::ServiceError;
use tonic::{Request, Response, Status};

/// The Entitlements service.
pub struct EntitlementsApi(pub ApiContext);

#[tonic::async_trait]
impl Entitlements for EntitlementsApi {
    async fn list_services(
        &self,
        req: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        let mut region = req.into_inner().region;
        if region.trim().is_empty() {
            region = self.0.services.federation.region().to_owned();
        }
        let active = self.0.services.catalogues.active();
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
        let m =
            self.0
                .services
                .catalogues
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
        let caller = self.0.authorize(&req, "Entitlements.RedeemService")?;
        let proofs = usize::from(!req.get_ref().holder_proof.is_empty());
        Charge::call(&req, units(1, proofs))?;
        let r = req.into_inner();
        let done = self
            .0
            .services
            .redemptions
            .redeem(
                &caller.subject(),
                &r.credential,
                &r.service_code,
                idempotency_key(r.idempotency_key)?,
                &r.holder_proof,
            )
            .await?
            .record;
        Ok(Response::new(pb::RedeemServiceResponse {
            redemption_id: done.redemption_id,
            remaining: done.remaining,
            period_end: timestamp(done.period_end),
            catalogue_version: done.catalogue_version,
        }))
    }

    async fn list_redemptions(
        &self,
        req: Request<pb::ListRedemptionsRequest>,
    ) -> Result<Response<pb::ListRedemptionsResponse>, Status> {
        self.0.authorize(&req, "Entitlements.ListRedemptions")?;
        let page = RedemptionPage::try_from(req.into_inner())?;
        let rows = self
            .0
            .services
            .redemptions
            .redemptions(&page.card_id, page.size, page.offset)
            .await?;
        let next_page_token = page.next_page_token(rows.len());
        Ok(Response::new(pb::ListRedemptionsResponse {
            redemptions: rows
                .into_iter()
                .map(|x| pb::RedemptionEntry {
                    redemption_id: x.redemption_id,
                    service_code: x.service_code,
                    redeemed_at: timestamp(x.redeemed_at),
                    counter: x.caller,
                    catalogue_version: x.catalogue_version,
                    issuer: x.issuer,
                    remaining: x.remaining,
                })
                .collect(),
            next_page_token,
        }))
    }
}
