//! A counter's browser has no client certificate: it shows a counter token instead
//! (`authorization: Bearer <token>`), accepted as that counter and nothing more.

use super::{Context, caller_of};
use crate::domain::Caller;
use crate::service::ServiceError;
use tonic::{Request, Status};

impl Context {
    /// Who calls: the client certificate's identity when one was presented (a token beside
    /// it is ignored); else the counter a bearer token names; else the public. A token that
    /// does not verify is UNAUTHENTICATED, audited, rather than quietly public.
    pub(crate) fn caller<T>(&self, req: &Request<T>, rpc: &str) -> Result<Caller, Status> {
        let has_cert = req.peer_certs().is_some_and(|c| !c.is_empty());
        let Some(header) = req.metadata().get("authorization").filter(|_| !has_cert) else {
            return Ok(caller_of(req));
        };
        // The scheme is case-insensitive (RFC 9110).
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                ServiceError::Unauthenticated(
                    "authorization must be \"Bearer <counter token>\"".into(),
                )
            });
        match token.and_then(|t| self.gateway.counter_of(t)) {
            Ok(id) => Ok(Caller::Identified(id)),
            Err(e) => {
                let status = Status::from(e);
                self.gateway
                    .audit("public", rpc, "", "denied", status.message());
                Err(status)
            }
        }
    }
}
