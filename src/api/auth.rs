//! Who is calling (resolved by the server's identity layer), and whether they may.

use crate::domain::{Caller, Role, SpiffeId};
use crate::service::AuditSink;
use tonic::{Request, Status};

/// Pins from configuration; without them any identity under the client CA is accepted.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Own trust domain for operators and counters.
    pub trust_domain: Option<String>,
    /// Pinned partner identities; empty means any partner identity.
    pub partners: Vec<String>,
}

/// The caller of a request, as the identity layer (server/identity.rs) resolved it: the
/// client certificate's identity, the counter a counter token names, or `Public`.
pub fn caller_of<T>(req: &Request<T>) -> Caller {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Public)
}

/// An identity the configuration's pins leave out (the PERMISSION_DENIED message).
#[derive(Debug, thiserror::Error)]
enum NotPinned {
    #[error("trust domain {0} is not this region's")]
    TrustDomain(String),
    #[error("{0} is not a partner under the agreement")]
    Partner(String),
}

impl AccessPolicy {
    /// Allows the call if the caller's role may call `rpc` (api/access.rs) and its identity
    /// is pinned where the configuration pins; otherwise audits the refusal and says why.
    pub(crate) fn require(
        &self,
        audit: &AuditSink,
        caller: &Caller,
        rpc: &str,
    ) -> Result<(), Status> {
        let allowed = super::access::allowed(rpc);
        let refusal = match caller {
            Caller::Public if !allowed.contains(&Role::Public) => Some(Status::unauthenticated(
                format!("{rpc} needs a client certificate (or a counter token)"),
            )),
            Caller::Identified(id) if !allowed.contains(&id.role()) => {
                Some(Status::permission_denied(format!(
                    "{rpc} is not allowed for role {}",
                    id.role().as_str()
                )))
            }
            Caller::Identified(id) => self
                .pinned(id)
                .err()
                .map(|e| Status::permission_denied(e.to_string())),
            Caller::Public => None,
        };
        match refusal {
            None => Ok(()),
            Some(status) => {
                audit.event(&caller.subject(), rpc, "", "denied", status.message());
                Err(status)
            }
        }
    }

    fn pinned(&self, id: &SpiffeId) -> Result<(), NotPinned> {
        match id.role() {
            Role::Operator | Role::Counter => match &self.trust_domain {
                Some(td) if td != id.trust_domain() => {
                    Err(NotPinned::TrustDomain(id.trust_domain().to_owned()))
                }
                _ => Ok(()),
            },
            Role::Partner if !self.partners.is_empty() => {
                if self.partners.iter().any(|p| *p == id.to_string()) {
                    Ok(())
                } else {
                    Err(NotPinned::Partner(id.to_string()))
                }
            }
            _ => Ok(()),
        }
    }
}
