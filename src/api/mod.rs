//! Thin tonic services: parse the request, make one call into `service`, convert the result.
//! Caller identity is resolved before the services (server/identity.rs: the mTLS certificate
//! or a counter token); errors become statuses in one place.

pub mod access;
mod admin;
mod auth;
mod charge;
mod convert;
mod entitlements;
mod error;
mod federation;
mod issuance;
mod verification;

pub use crate::service::TALLY_EVENT;
pub use admin::AdminApi;
pub use auth::{AccessPolicy, caller_of};
pub use charge::Charge;
/// A verdict as VerifyCard answers it (also `verify --offline`).
pub(crate) use convert::verdict as verdict_response;
pub use entitlements::EntitlementsApi;
pub use federation::FederationApi;
pub use issuance::CardIssuanceApi;
pub use verification::VerificationApi;

use crate::domain::Caller;
use crate::service::Services;
use std::sync::Arc;
use tonic::{Request, Status};

/// What every service needs: the use-case services and who may call what.
#[derive(Clone)]
pub struct ApiContext {
    /// The use cases.
    pub services: Arc<Services>,
    /// Access rules.
    pub access: Arc<AccessPolicy>,
}

impl ApiContext {
    /// The caller of `req` if its role may call `rpc` (`Service.Method`, api/access.rs) and
    /// its identity is pinned where the configuration pins; otherwise the refusal, audited.
    pub(crate) fn authorize<T>(&self, req: &Request<T>, rpc: &str) -> Result<Caller, Status> {
        let caller = caller_of(req);
        self.access.require(&self.services.audit, &caller, rpc)?;
        Ok(caller)
    }
}
