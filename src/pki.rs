//! The deployment's PKI, made by the binary itself (no openssl): a CA per trust domain,
//! client certificates naming `spiffe://TRUST_DOMAIN/ROLE/NAME`, server certificates,
//! certificate signing requests made where the key stays, and what the gateway will see in a
//! certificate. `certs ...` (cli/certs.rs) and the development PKI (dev_certs.rs) both use it.

use crate::domain::{Role, SpiffeId};
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use std::path::Path;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The CA certificate's file name in a CA folder.
pub const CA_CERT: &str = "ca.pem";
/// The CA key's file name in a CA folder (0600).
pub const CA_KEY: &str = "ca.key";

/// Backdating of every certificate's start: a peer whose clock is a little behind still
/// accepts a certificate made a moment ago.
const BACKDATE: time::Duration = time::Duration::hours(1);

/// A CA that can sign: its certificate (PEM) and the issuer made of its key.
pub struct Ca {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// The roles a client certificate may name (those `SpiffeId` accepts).
pub const CLIENT_ROLES: [&str; 3] = ["operator", "counter", "partner"];

impl Ca {
    /// A new self-signed CA named `common_name`, valid `days` days; with a trust domain, the
    /// certificate carries `spiffe://TRUST_DOMAIN` as its URI SAN (as SPIFFE CAs do), so
    /// `certs issue` knows the domain it signs for.
    pub fn new(common_name: &str, trust_domain: Option<&str>, days: u32) -> anyhow::Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name = name(common_name);
        if let Some(domain) = trust_domain {
            params
                .subject_alt_names
                .push(SanType::URI(format!("spiffe://{domain}").try_into()?));
        }
        validity(&mut params, days)?;
        let cert_pem = params.self_signed(&key)?.pem();
        Ok(Self {
            cert_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Writes `ca.pem` and `ca.key` (0600) into `dir`.
    pub fn write(&self, dir: &Path, with_key: bool) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write(&dir.join(CA_CERT), &self.cert_pem, false)?;
        if with_key {
            write(&dir.join(CA_KEY), &self.issuer.key().serialize_pem(), true)?;
        }
        Ok(())
    }

    /// The CA in `dir` (`ca.pem` and `ca.key`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let (cert, key) = (dir.join(CA_CERT), dir.join(CA_KEY));
        let cert_pem = std::fs::read_to_string(&cert)
            .with_context(|| format!("reading the CA certificate {}", cert.display()))?;
        let key_pem = std::fs::read_to_string(&key).with_context(|| {
            format!(
                "reading the CA key {} (only the machine that signs holds it)",
                key.display()
            )
        })?;
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("{} is not a private key", key.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)
            .with_context(|| format!("{} is not a CA certificate", cert.display()))?;
        Ok(Self { cert_pem, issuer })
    }

    /// The trust domain this CA's certificate names (`spiffe://DOMAIN` URI SAN), if any.
    pub fn trust_domain(&self) -> Option<String> {
        let der = pem_der(&self.cert_pem).ok()?;
        let info = CertInfo::of_der(&der).ok()?;
        info.uris
            .iter()
            .find_map(|u| u.strip_prefix("spiffe://").map(str::to_owned))
            .filter(|d| !d.is_empty() && !d.contains('/'))
    }

    /// A new key and a client certificate naming `identity`, valid `days` days: (cert PEM,
    /// key PEM).
    pub fn issue_client(&self, identity: &str, days: u32) -> anyhow::Result<(String, String)> {
        let key = KeyPair::generate()?;
        let cert = client_params(identity, days)?.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A server certificate for `dns` names and `ips`, also naming `identity` (a URI SAN)
    /// when given, for client auth too (the gateway's own partner identity): (cert, key).
    pub fn issue_server(
        &self,
        dns: &[String],
        ips: &[std::net::IpAddr],
        identity: Option<&str>,
        days: u32,
    ) -> anyhow::Result<(String, String)> {
        let key = KeyPair::generate()?;
        let first = dns.first().map_or("gateway", String::as_str);
        let mut params = CertificateParams::new(dns.to_vec())?;
        for ip in ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        if let Some(id) = identity {
            params.subject_alt_names.push(SanType::URI(id.try_into()?));
        }
        params.distinguished_name = name(first);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut params, days)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A client certificate naming `identity` for the public key of `csr_pem`. The request's
    /// signature must verify (it proves the key's holder asked); its subject, SANs and
    /// extensions are not used: the identity is the signer's decision.
    pub fn sign_csr(&self, csr_pem: &str, identity: &str, days: u32) -> anyhow::Result<String> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| match e {
            rcgen::Error::InvalidCertificationRequestSignature => anyhow::anyhow!(
                "the CSR's signature does not verify: it was altered, or not made with its key"
            ),
            other => anyhow::anyhow!("not a certificate signing request this can sign: {other}"),
        })?;
        csr.params = client_params(identity, days)?;
        Ok(csr.signed_by(&self.issuer)?.pem())
    }
}

/// Parameters of a client certificate naming `identity`.
fn client_params(identity: &str, days: u32) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .subject_alt_names
        .push(SanType::URI(identity.try_into()?));
    params.distinguished_name = name(identity);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params, days)?;
    Ok(params)
}

/// The SPIFFE ID of `role` named `name` under `trust_domain`, checked as the gateway parses it.
pub fn client_identity(trust_domain: &str, role: &str, name: &str) -> anyhow::Result<SpiffeId> {
    anyhow::ensure!(
        CLIENT_ROLES.contains(&role),
        "--role must be one of {}, not {role:?}",
        CLIENT_ROLES.join(", ")
    );
    anyhow::ensure!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "--name must be letters, digits, '-', '_' or '.', e.g. hall-1 (got {name:?})"
    );
    format!("spiffe://{trust_domain}/{role}/{name}")
        .parse::<SpiffeId>()
        .map_err(|e| anyhow::anyhow!("--trust-domain {trust_domain:?}: {e}"))
}

/// A new key and a certificate signing request for it, made where the key stays: (key PEM,
/// CSR PEM). `common_name` is informational: the CA decides the identity.
pub fn new_csr(common_name: &str) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = name(common_name);
    let csr = params.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}

/// What a certificate says, and what the gateway makes of it.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The subject, as text.
    pub subject: String,
    /// The issuer, as text.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Whether it is a CA certificate.
    pub is_ca: bool,
    /// Every URI SAN.
    pub uris: Vec<String>,
    /// Every DNS SAN.
    pub dns: Vec<String>,
    /// The identity the gateway takes from it: the first URI SAN that is a SPIFFE ID of a
    /// known role (as server/peer.rs), else none (a public caller).
    pub identity: Option<SpiffeId>,
}

impl CertInfo {
    /// Reads a DER certificate.
    pub fn of_der(der: &[u8]) -> anyhow::Result<Self> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| anyhow::anyhow!("not a certificate: {e}"))?;
        let mut uris = Vec::new();
        let mut dns = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::URI(u) => uris.push((*u).to_owned()),
                    GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                    _ => {}
                }
            }
        }
        Ok(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string().replace(':', ""),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: cert.is_ca(),
            identity: identity_of(&cert),
            uris,
            dns,
        })
    }

    /// The role the gateway gives a caller with this certificate.
    pub fn role(&self) -> Role {
        self.identity.as_ref().map_or(Role::Public, SpiffeId::role)
    }
}

/// The identity a certificate names for the gateway: its first URI SAN that parses as a
/// SPIFFE ID of a known role.
pub fn identity_of(cert: &X509Certificate<'_>) -> Option<SpiffeId> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return None;
    };
    san.value.general_names.iter().find_map(|n| match n {
        GeneralName::URI(uri) => uri.parse::<SpiffeId>().ok(),
        _ => None,
    })
}

/// The DER of the first certificate in a PEM text.
pub fn pem_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let cert = rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .context("no CERTIFICATE block in the file")??;
    Ok(cert.to_vec())
}

/// Sets a random positive serial and `days` of validity from an hour ago.
fn validity(params: &mut CertificateParams, days: u32) -> anyhow::Result<()> {
    anyhow::ensure!(days > 0, "--days must be at least 1");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + time::Duration::days(i64::from(days));
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(())
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// Writes `contents` to `path` (0600 when `secret`).
pub fn write(path: &Path, contents: &str, secret: bool) -> anyhow::Result<()> {
    crate::secret_file::write(path, contents.as_bytes(), secret)
}
