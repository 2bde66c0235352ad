//! Trust domains are bound to CAs: the own client CA vouches for operators and counters (and
//! for partner identities no partner CA is configured for); a partner's CA vouches only for
//! that partner's pinned identity. The TLS handshake accepts a chain to any of these CAs;
//! this check says which CA may speak for the identity presented (peer.rs, once per
//! connection).

use anyhow::Context as _;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use std::path::Path;
use std::sync::Arc;

/// Which CA vouches for which identities.
#[derive(Debug)]
pub(crate) struct CaBinding {
    own: Arc<dyn ClientCertVerifier>,
    /// (pinned SPIFFE ID, the partner's CA).
    partners: Vec<(String, Arc<dyn ClientCertVerifier>)>,
}

fn verifier(ca: &Path) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert?)?;
    }
    // A placeholder (certs/partners/) must stop the start, naming the file.
    anyhow::ensure!(
        !roots.is_empty(),
        "{} holds no CA certificate (a placeholder?): install the partner's CA there",
        ca.display()
    );
    Ok(WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()?)
}

impl CaBinding {
    /// None when no partner names its own CA: then the own CA vouches for everyone, as before.
    pub(crate) fn new(own_ca: &Path, partners: &[(String, &Path)]) -> anyhow::Result<Option<Self>> {
        if partners.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            own: verifier(own_ca)?,
            partners: partners
                .iter()
                .map(|(id, ca)| Ok((id.clone(), verifier(ca)?)))
                .collect::<anyhow::Result<_>>()?,
        }))
    }

    /// Whether the chain `certs` (leaf first) comes from the CA that may vouch for `identity`.
    pub(crate) fn vouches(&self, identity: &str, certs: &[CertificateDer<'static>]) -> bool {
        let Some((leaf, rest)) = certs.split_first() else {
            return false;
        };
        let ca = self
            .partners
            .iter()
            .find(|(id, _)| id == identity)
            .map_or(&self.own, |(_, v)| v);
        ca.verify_client_cert(leaf, rest, UnixTime::now()).is_ok()
    }
}
