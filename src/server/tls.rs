//! The server's TLS identity and client CA; a development PKI is made on first start when
//! none is configured.

use crate::config::Settings;
use anyhow::Context;
use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS with optional client certificates: a phone has none; when one is presented it must
/// chain to the client CA, or to a partner's CA (which then vouches only for that partner,
/// see ca_binding.rs). ALPN offers h2 and HTTP/1.1 (gRPC-Web from the counter page). Returns
/// the own client CA too.
pub(crate) fn server_config(settings: &Settings) -> anyhow::Result<(Arc<ServerConfig>, PathBuf)> {
    let (cert, key, ca) = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => {
            let ca = settings
                .client_ca
                .clone()
                .context("--client-ca is needed with --tls-cert")?;
            (cert.clone(), key.clone(), ca)
        }
        _ => {
            let dir = settings.data_dir.join("certs");
            let pki = crate::dev_certs::DevPki { dir: dir.clone() };
            if !pki.exists() {
                let domain = settings.trust_domain.as_deref().unwrap_or("cq.talent");
                crate::dev_certs::generate_for(&dir, domain, "my.talent", &settings.region)?;
                tracing::warn!(dir = %dir.display(), "no TLS certificate given: made a development CA, server and client certificates");
                eprintln!("development certificates written to {}", dir.display());
            }
            let ca = settings.client_ca.clone().unwrap_or_else(|| pki.ca());
            (pki.server_cert(), pki.server_key(), ca)
        }
    };
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut roots = RootCertStore::empty();
    let partner_cas = settings
        .partners
        .iter()
        .filter_map(|p| p.client_ca.as_ref());
    for file in std::iter::once(&ca).chain(partner_cas) {
        for root in rustls_pemfile::certs(&mut read(file)?.as_slice()) {
            roots
                .add(root.with_context(|| format!("reading {}", file.display()))?)
                .with_context(|| format!("a CA certificate in {}", file.display()))?;
        }
    }
    let chain = rustls_pemfile::certs(&mut read(&cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", cert.display()))?;
    let private_key = rustls_pemfile::private_key(&mut read(&key)?.as_slice())
        .with_context(|| format!("reading {}", key.display()))?
        .with_context(|| format!("no private key in {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let clients = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(clients)
        .with_single_cert(chain, private_key)
        .context("the server certificate and key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), ca))
}
