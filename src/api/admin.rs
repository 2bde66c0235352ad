//! Admin: operators only.

use super::Context;
use super::error::not_built;
use crate::domain::Role;
use crate::pb::{self, admin_server::Admin};
use tonic::{Request, Response, Status};

/// The Admin service.
pub struct AdminApi(pub Context);

impl AdminApi {
    fn operator<T>(&self, req: &Request<T>, rpc: &str) -> Result<String, Status> {
        let caller = super::caller_of(req);
        self.0
            .access
            .require(&self.0.gateway, &caller, &[Role::Operator], rpc)?;
        Ok(caller.subject())
    }
}

#[tonic::async_trait]
impl Admin for AdminApi {
    async fn list_keys(
        &self,
        req: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        self.operator(&req, "Admin.ListKeys")?;
        let keys = self.0.gateway.keys().into_iter().map(Into::into).collect();
        Ok(Response::new(pb::ListKeysResponse { keys }))
    }

    async fn rotate_keys(
        &self,
        req: Request<pb::RotateKeysRequest>,
    ) -> Result<Response<pb::RotateKeysResponse>, Status> {
        let caller = self.operator(&req, "Admin.RotateKeys")?;
        let secs = req.into_inner().prepublish_seconds;
        let prepublish = (secs > 0).then_some(i64::from(secs));
        let key = self.0.gateway.rotate_keys(&caller, prepublish).await?;
        Ok(Response::new(pb::RotateKeysResponse {
            next_key: Some(key.into()),
        }))
    }

    async fn list_partners(
        &self,
        req: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersResponse>, Status> {
        self.operator(&req, "Admin.ListPartners")?;
        Err(not_built("Admin.ListPartners", "the trust registry"))
    }

    async fn add_partner(
        &self,
        req: Request<pb::AddPartnerRequest>,
    ) -> Result<Response<pb::AddPartnerResponse>, Status> {
        self.operator(&req, "Admin.AddPartner")?;
        Err(not_built("Admin.AddPartner", "the trust registry"))
    }

    async fn suspend_partner(
        &self,
        req: Request<pb::SuspendPartnerRequest>,
    ) -> Result<Response<pb::SuspendPartnerResponse>, Status> {
        self.operator(&req, "Admin.SuspendPartner")?;
        Err(not_built("Admin.SuspendPartner", "the trust registry"))
    }

    async fn remove_partner(
        &self,
        req: Request<pb::RemovePartnerRequest>,
    ) -> Result<Response<pb::RemovePartnerResponse>, Status> {
        self.operator(&req, "Admin.RemovePartner")?;
        Err(not_built("Admin.RemovePartner", "the trust registry"))
    }

    async fn import_catalogue(
        &self,
        req: Request<pb::ImportCatalogueRequest>,
    ) -> Result<Response<pb::ImportCatalogueResponse>, Status> {
        self.operator(&req, "Admin.ImportCatalogue")?;
        Err(not_built("Admin.ImportCatalogue", "catalogues"))
    }
}
