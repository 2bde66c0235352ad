//! Channels to partner gateways: mutual TLS with the partner's CA as the only root, our own
//! client identity, and the partner's server certificate pinned to its SPIFFE ID.

use crate::config::{PartnerConfig, Settings};
use anyhow::Context;
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Identity};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The first URI SAN of a certificate.
fn uri_san(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        GeneralName::URI(uri) => Some((*uri).to_owned()),
        _ => None,
    })
}

/// WebPKI path checks against the partner's CA, then the agreement's pin on its identity.
#[derive(Debug)]
struct PinnedPartner {
    inner: Arc<WebPkiServerVerifier>,
    spiffe_id: Option<String>,
}

impl ServerCertVerifier for PinnedPartner {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if let Some(pin) = &self.spiffe_id
            && uri_san(end_entity.as_ref()).as_deref() != Some(pin.as_str())
        {
            return Err(rustls::Error::General(format!(
                "the partner's certificate does not name {pin}"
            )));
        }
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Our certificate and key for calls to partners: configured, else the server's.
fn own_identity(settings: &Settings) -> anyhow::Result<Identity> {
    let f = &settings.federation;
    let dev = crate::dev_certs::DevPki {
        dir: settings.data_dir.join("certs"),
    };
    let cert = f
        .client_cert
        .clone()
        .or_else(|| settings.tls_cert.clone())
        .unwrap_or_else(|| dev.server_cert());
    let key = f
        .client_key
        .clone()
        .or_else(|| settings.tls_key.clone())
        .unwrap_or_else(|| dev.server_key());
    let read =
        |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    Ok(Identity::from_pem(read(&cert)?, read(&key)?))
}

/// A lazily connected channel to `partner` at `endpoint`.
pub(crate) fn channel(
    settings: &Settings,
    partner: &PartnerConfig,
    endpoint: &str,
) -> anyhow::Result<Channel> {
    let ca = partner.client_ca.as_ref().with_context(|| {
        format!(
            "partner {}: a federation_endpoint needs the partner's client_ca",
            partner.id
        )
    })?;
    let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert?)?;
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "partner {}: {} holds no certificate",
        partner.id,
        ca.display()
    );
    let inner = WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()?;
    let verifier = Arc::new(PinnedPartner {
        inner,
        spiffe_id: partner.spiffe_id.clone(),
    });
    let timeout = Duration::from_millis(settings.federation.call_timeout_millis.max(100));
    let tls = ClientTlsConfig::new().identity(own_identity(settings)?);
    Ok(Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| format!("partner {}: federation_endpoint {endpoint}", partner.id))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tls_config_with_verifier(tls, verifier)?
        .connect_lazy())
}
