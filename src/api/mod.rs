//! Thin tonic services: parse the request, make one call into `service`, convert the result.
//! Caller identity comes from the mTLS certificate (or a counter token); errors become
//! statuses in one place.

mod admin;
mod auth;
mod ca_binding;
mod charge;
mod convert;
mod counter_token;
mod entitlements;
mod error;
mod federation;
mod issuance;
mod refusal_tally;
mod verification;

pub use admin::AdminApi;
pub use auth::{AccessPolicy, caller_of, caller_of_chain};
pub use ca_binding::CaBinding;
pub use charge::Charge;
pub use entitlements::EntitlementsApi;
pub use federation::FederationApi;
pub use issuance::CardIssuanceApi;
pub use refusal_tally::TALLY_EVENT;
pub use verification::VerificationApi;

use crate::domain::{Caller, Role};
use crate::service::Gateway;
use std::sync::Arc;
use tonic::{Request, Status};

/// What every service needs: the core and who may call what.
#[derive(Clone)]
pub struct Context {
    /// The core.
    pub gateway: Arc<Gateway>,
    /// Access rules.
    pub access: Arc<AccessPolicy>,
}

impl Context {
    /// The caller of `req` if its role is among `allowed` (and its identity pinned where the
    /// configuration pins); otherwise the refusal, audited.
    pub(crate) fn authorize<T>(
        &self,
        req: &Request<T>,
        allowed: &[Role],
        rpc: &str,
    ) -> Result<Caller, Status> {
        let caller = self.caller(req, rpc)?;
        self.access.require(&self.gateway, &caller, allowed, rpc)?;
        self.access.check_ca(&self.gateway, req, &caller, rpc)?;
        Ok(caller)
    }
}
