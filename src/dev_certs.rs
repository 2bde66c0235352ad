//! A development PKI: a CA, a server certificate for loopback, and one client certificate per
//! role with a SPIFFE-style URI SAN. Never for production.

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};

/// Paths of a development PKI under one folder.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// Folder holding everything.
    pub dir: PathBuf,
}

impl DevPki {
    /// The CA certificate (also the client CA).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// A role's client certificate and key.
    pub fn client(&self, role: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{role}.pem")),
            self.dir.join(format!("{role}.key")),
        )
    }

    /// True when the folder already holds a complete PKI.
    pub fn exists(&self) -> bool {
        [self.ca(), self.server_cert(), self.server_key()]
            .iter()
            .all(|p| p.exists())
    }
}

/// Writes a CA, a loopback server certificate and operator/counter/partner client
/// certificates (`spiffe://TRUST_DOMAIN/ROLE/dev`) into `dir`.
pub fn generate(dir: &Path, trust_domain: &str, partner_domain: &str) -> anyhow::Result<DevPki> {
    generate_for(dir, trust_domain, partner_domain, "chongqing")
}

/// As `generate`, the server certificate also naming the gateway as `region`'s partner
/// identity (`spiffe://TRUST_DOMAIN/partner/REGION`), for client auth too: partners pin it
/// on the server they poll, and it is the client certificate the gateway calls them with.
pub fn generate_for(
    dir: &Path,
    trust_domain: &str,
    partner_domain: &str,
    region: &str,
) -> anyhow::Result<DevPki> {
    let issuer = new_ca(dir)?;

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    server.subject_alt_names.push(SanType::URI(
        format!("spiffe://{trust_domain}/partner/{region}").try_into()?,
    ));
    server.distinguished_name = name("localhost");
    server.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let server_cert = server.signed_by(&server_key, &issuer)?;
    write(dir, "server.pem", &server_cert.pem(), false)?;
    write(dir, "server.key", &server_key.serialize_pem(), true)?;

    for (role, domain) in [
        ("operator", trust_domain),
        ("counter", trust_domain),
        ("partner", partner_domain),
    ] {
        client(dir, &issuer, role, &format!("spiffe://{domain}/{role}/dev"))?;
    }
    Ok(DevPki {
        dir: dir.to_path_buf(),
    })
}

/// Writes a new CA (`ca.pem`) and, for each (file name, SPIFFE ID), a client certificate
/// naming that identity (`NAME.pem`, `NAME.key`) into `dir`: another party's PKI, e.g. a
/// partner's CA naming identities it may or may not vouch for.
pub fn generate_clients(dir: &Path, clients: &[(&str, &str)]) -> anyhow::Result<DevPki> {
    let issuer = new_ca(dir)?;
    for (file, uri) in clients {
        client(dir, &issuer, file, uri)?;
    }
    Ok(DevPki {
        dir: dir.to_path_buf(),
    })
}

/// A new CA, written to `dir/ca.pem`.
fn new_ca(dir: &Path) -> anyhow::Result<Issuer<'static, KeyPair>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name = name("talent-gateway development CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    write(dir, "ca.pem", &ca_cert.pem(), false)?;
    Ok(Issuer::new(ca, ca_key))
}

/// A client certificate for `uri` signed by `issuer`, as `dir/FILE.pem` and `dir/FILE.key`.
fn client(dir: &Path, issuer: &Issuer<'_, KeyPair>, file: &str, uri: &str) -> anyhow::Result<()> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.subject_alt_names.push(SanType::URI(uri.try_into()?));
    p.distinguished_name = name(&format!("{file} (development)"));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, issuer)?;
    write(dir, &format!("{file}.pem"), &cert.pem(), false)?;
    write(dir, &format!("{file}.key"), &key.serialize_pem(), true)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn write(dir: &Path, file: &str, contents: &str, secret: bool) -> anyhow::Result<()> {
    let path = dir.join(file);
    crate::secret_file::write(&path, contents.as_bytes(), secret)
}
