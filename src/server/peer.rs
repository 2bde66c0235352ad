//! Who a connection's client certificate names, decided once, right after the handshake:
//! the leaf's first SPIFFE-style URI SAN, provided the CA the chain comes from may vouch for
//! that identity (ca_binding.rs).

use super::ca_binding::CaBinding;
use crate::domain::{Caller, SpiffeId};
use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The client side of a connection, as its certificate (or lack of one) makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Peer {
    /// No client certificate: the public, or a counter token on each call.
    Anonymous,
    /// A verified certificate and the caller it names (`Public` when it names none).
    Certified(Caller),
    /// A certificate from a CA that may not vouch for the identity it names: refused on
    /// every call, and never that identity.
    Refused(SpiffeId),
}

impl Peer {
    /// The peer of a connection whose handshake verified `chain` (leaf first), if any.
    pub(crate) fn of(
        chain: Option<&[CertificateDer<'static>]>,
        binding: Option<&CaBinding>,
    ) -> Self {
        let Some(chain) = chain.filter(|c| !c.is_empty()) else {
            return Self::Anonymous;
        };
        match (caller_of_chain(chain), binding) {
            (Caller::Identified(id), Some(binding)) if !binding.vouches(&id.to_string(), chain) => {
                Self::Refused(id)
            }
            (caller, _) => Self::Certified(caller),
        }
    }
}

/// The caller a verified certificate chain (leaf first) names: the leaf's first SPIFFE-style
/// URI SAN (pki.rs, which `certs inspect` shows too), or `Public` without a leaf or one.
fn caller_of_chain<C: AsRef<[u8]>>(chain: &[C]) -> Caller {
    let Some(leaf) = chain.first() else {
        return Caller::Public;
    };
    let Ok((_, cert)) = X509Certificate::from_der(leaf.as_ref()) else {
        return Caller::Public;
    };
    crate::pki::identity_of(&cert).map_or(Caller::Public, Caller::Identified)
}
