//! Who is calling, from the client certificate's URI SAN, and whether they may.

use crate::domain::{Caller, Role, SpiffeId};
use crate::service::Gateway;
use tonic::{Request, Status};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Pins from configuration; without them any identity under the client CA is accepted.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Own trust domain for operators and counters.
    pub trust_domain: Option<String>,
    /// Pinned partner identities; empty means any partner identity.
    pub partners: Vec<String>,
    /// Which CA vouches for which identity, when partners bring their own CAs.
    pub ca_binding: Option<std::sync::Arc<super::ca_binding::CaBinding>>,
}

/// The caller of a request: the first SPIFFE-style URI SAN of the verified client
/// certificate, or `Public` with no certificate. A certificate without one is `Public` too.
/// The rate-limit layer has usually read it already and left it in the extensions.
pub fn caller_of<T>(req: &Request<T>) -> Caller {
    if let Some(caller) = req.extensions().get::<Caller>() {
        return caller.clone();
    }
    req.peer_certs()
        .map_or(Caller::Public, |certs| caller_of_chain(&certs))
}

/// The caller a verified certificate chain (leaf first) names: the leaf's first SPIFFE-style
/// URI SAN, or `Public` without a leaf or one.
pub fn caller_of_chain<C: AsRef<[u8]>>(chain: &[C]) -> Caller {
    let Some(leaf) = chain.first() else {
        return Caller::Public;
    };
    let Ok((_, cert)) = X509Certificate::from_der(leaf.as_ref()) else {
        return Caller::Public;
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Caller::Public;
    };
    san.value
        .general_names
        .iter()
        .find_map(|n| match n {
            GeneralName::URI(uri) => uri.parse::<SpiffeId>().ok(),
            _ => None,
        })
        .map_or(Caller::Public, Caller::Identified)
}

impl AccessPolicy {
    /// Refuses an identity presented under a CA that may not vouch for it (a partner's CA
    /// for an operator, or for another partner).
    pub(crate) fn check_ca<T>(
        &self,
        gw: &Gateway,
        req: &Request<T>,
        caller: &Caller,
        rpc: &str,
    ) -> Result<(), Status> {
        let (Some(binding), Caller::Identified(id)) = (&self.ca_binding, caller) else {
            return Ok(());
        };
        let certs = req.peer_certs();
        let chain: &[_] = certs.as_deref().map_or(&[], |c| c.as_slice());
        if binding.vouches(&id.to_string(), chain) {
            return Ok(());
        }
        let status = Status::permission_denied(format!(
            "{id} is not vouched for by the CA bound to its trust domain"
        ));
        gw.audit(&caller.subject(), rpc, "", "denied", status.message());
        Err(status)
    }

    /// Allows the call if the caller's role is in `allowed` and its identity is pinned where
    /// the configuration pins; otherwise audits the refusal and says why.
    pub(crate) fn require(
        &self,
        gw: &Gateway,
        caller: &Caller,
        allowed: &[Role],
        rpc: &str,
    ) -> Result<(), Status> {
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
            Caller::Identified(id) => self.pinned(id).err().map(Status::permission_denied),
            Caller::Public => None,
        };
        match refusal {
            None => Ok(()),
            Some(status) => {
                gw.audit(&caller.subject(), rpc, "", "denied", status.message());
                Err(status)
            }
        }
    }

    fn pinned(&self, id: &SpiffeId) -> Result<(), String> {
        match id.role() {
            Role::Operator | Role::Counter => match &self.trust_domain {
                Some(td) if td != id.trust_domain() => Err(format!(
                    "trust domain {} is not this region's",
                    id.trust_domain()
                )),
                _ => Ok(()),
            },
            Role::Partner if !self.partners.is_empty() => {
                if self.partners.iter().any(|p| *p == id.to_string()) {
                    Ok(())
                } else {
                    Err(format!("{id} is not a partner under the agreement"))
                }
            }
            _ => Ok(()),
        }
    }
}
