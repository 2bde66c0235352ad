//! The server's TLS identity and client CA; a development PKI is made on first start when
//! none is configured.

use crate::config::Settings;
use anyhow::Context;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// TLS with optional client certificates: a phone has none; when one is presented it must
/// chain to the client CA, or to a partner's CA (which then vouches only for that partner,
/// see api/ca_binding.rs). Returns the own client CA too.
pub(crate) fn server_config(
    settings: &Settings,
) -> anyhow::Result<(ServerTlsConfig, std::path::PathBuf)> {
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
    let read =
        |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut roots = read(&ca)?;
    for partner_ca in settings
        .partners
        .iter()
        .filter_map(|p| p.client_ca.as_ref())
    {
        roots.push(b'\n');
        roots.extend(read(partner_ca)?);
    }
    Ok((
        ServerTlsConfig::new()
            .identity(Identity::from_pem(read(&cert)?, read(&key)?))
            .client_ca_root(Certificate::from_pem(roots))
            .client_auth_optional(true),
        ca,
    ))
}
