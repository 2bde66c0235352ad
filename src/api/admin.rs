//! Admin: operators only.

use super::ApiContext;
use crate::domain::Caller;
use crate::pb::{self, admin_server::Admin};
use crate::service::NewPartner;
use tonic::{Request, Response, Status};

/// The Admin service.
pub struct AdminApi(pub ApiContext);

impl AdminApi {
    fn operator<T>(&self, req: &Request<T>, rpc: &str) -> Result<String, Status> {
        Ok(self.0.authorize(req, rpc)?.subject())
    }
}

#[tonic::async_trait]
impl Admin for AdminApi {
    async fn list_keys(
        &self,
        req: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        self.operator(&req, "Admin.ListKeys")?;
        let keys = self
            .0
            .services
            .keys
            .keys()
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Response::new(pb::ListKeysResponse { keys }))
    }

    async fn rotate_keys(
        &self,
        req: Request<pb::RotateKeysRequest>,
    ) -> Result<Response<pb::RotateKeysResponse>, Status> {
        let caller = self.operator(&req, "Admin.RotateKeys")?;
        let secs = req.into_inner().prepublish_seconds;
        let prepublish = (secs > 0).then_some(i64::from(secs));
        let key = self
            .0
            .services
            .keys
            .rotate_keys(&caller, prepublish)
            .await?;
        Ok(Response::new(pb::RotateKeysResponse {
            next_key: Some(key.into()),
        }))
    }

    async fn list_partners(
        &self,
        req: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersResponse>, Status> {
        self.operator(&req, "Admin.ListPartners")?;
        let partners = self.0.services.partners.partners().await?;
        Ok(Response::new(pb::ListPartnersResponse {
            partners: partners.into_iter().map(Into::into).collect(),
        }))
    }

    async fn add_partner(
        &self,
        req: Request<pb::AddPartnerRequest>,
    ) -> Result<Response<pb::AddPartnerResponse>, Status> {
        let caller = self.operator(&req, "Admin.AddPartner")?;
        let record = NewPartner::try_from(req.into_inner())?;
        let view = self
            .0
            .services
            .partners
            .add_partner(&caller, record)
            .await?;
        Ok(Response::new(pb::AddPartnerResponse {
            partner: Some(view.into()),
        }))
    }

    async fn suspend_partner(
        &self,
        req: Request<pb::SuspendPartnerRequest>,
    ) -> Result<Response<pb::SuspendPartnerResponse>, Status> {
        let caller = self.operator(&req, "Admin.SuspendPartner")?;
        let r = req.into_inner();
        let view = self
            .0
            .services
            .partners
            .suspend_partner(&caller, &r.id, r.suspended, &r.reason)
            .await?;
        Ok(Response::new(pb::SuspendPartnerResponse {
            partner: Some(view.into()),
        }))
    }

    async fn remove_partner(
        &self,
        req: Request<pb::RemovePartnerRequest>,
    ) -> Result<Response<pb::RemovePartnerResponse>, Status> {
        let caller = self.operator(&req, "Admin.RemovePartner")?;
        self.0
            .services
            .partners
            .remove_partner(&caller, &req.into_inner().id)
            .await?;
        Ok(Response::new(pb::RemovePartnerResponse {}))
    }

    async fn import_catalogue(
        &self,
        req: Request<pb::ImportCatalogueRequest>,
    ) -> Result<Response<pb::ImportCatalogueResponse>, Status> {
        let caller = self.operator(&req, "Admin.ImportCatalogue")?;
        let r = req.into_inner();
        let version = self
            .0
            .services
            .catalogues
            .import_catalogue(&caller, &r.catalogue, r.effective_from.map(|t| t.seconds))
            .await?;
        Ok(Response::new(pb::ImportCatalogueResponse {
            catalogue_version: version,
            problems: Vec::new(),
        }))
    }

    async fn issue_counter_token(
        &self,
        req: Request<pb::IssueCounterTokenRequest>,
    ) -> Result<Response<pb::IssueCounterTokenResponse>, Status> {
        let rpc = "Admin.IssueCounterToken";
        let caller = self.0.authorize(&req, rpc)?;
        // The counter joins the pinned trust domain, else the issuing operator's own.
        let trust_domain = match (&self.0.access.trust_domain, &caller) {
            (Some(td), _) => td.clone(),
            (None, Caller::Identified(id)) => id.trust_domain().to_owned(),
            (None, Caller::Public) => return Err(Status::unauthenticated(rpc)),
        };
        let r = req.into_inner();
        let issued = self
            .0
            .services
            .counters
            .issue_counter_token(&caller.subject(), &trust_domain, &r.name, r.valid_hours)
            .await?;
        Ok(Response::new(issued.into()))
    }

    async fn revoke_counter_token(
        &self,
        req: Request<pb::RevokeCounterTokenRequest>,
    ) -> Result<Response<pb::RevokeCounterTokenResponse>, Status> {
        let caller = self.operator(&req, "Admin.RevokeCounterToken")?;
        let r = req.into_inner();
        let revoked = self
            .0
            .services
            .counters
            .revoke_counter_token(&caller, &r.token_id, &r.reason)
            .await?;
        Ok(Response::new(pb::RevokeCounterTokenResponse {
            counter_token: Some(revoked.into()),
        }))
    }

    async fn list_counter_tokens(
        &self,
        req: Request<pb::ListCounterTokensRequest>,
    ) -> Result<Response<pb::ListCounterTokensResponse>, Status> {
        self.operator(&req, "Admin.ListCounterTokens")?;
        let include_expired = req.into_inner().include_expired;
        let tokens = self
            .0
            .services
            .counters
            .counter_tokens(include_expired)
            .await?;
        Ok(Response::new(pb::ListCounterTokensResponse {
            counter_tokens: tokens.into_iter().map(Into::into).collect(),
        }))
    }

    async fn revoke_key(
        &self,
        req: Request<pb::RevokeKeyRequest>,
    ) -> Result<Response<pb::RevokeKeyResponse>, Status> {
        let caller = self.operator(&req, "Admin.RevokeKey")?;
        let r = req.into_inner();
        let renewed = self
            .0
            .services
            .keys
            .revoke_key(&caller, &r.kid, &r.reason, r.renew_cards)
            .await?;
        Ok(Response::new(pb::RevokeKeyResponse { renewed }))
    }

    async fn revoke_partner_key(
        &self,
        req: Request<pb::RevokePartnerKeyRequest>,
    ) -> Result<Response<pb::RevokePartnerKeyResponse>, Status> {
        let caller = self.operator(&req, "Admin.RevokePartnerKey")?;
        let r = req.into_inner();
        self.0
            .services
            .partners
            .revoke_partner_key(&caller, &r.partner_id, &r.kid, &r.reason)
            .await?;
        Ok(Response::new(pb::RevokePartnerKeyResponse {}))
    }
}
