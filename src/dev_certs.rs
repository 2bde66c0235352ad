//! A development PKI: a CA, a server certificate for loopback, and one client certificate per
//! role with a SPIFFE-style URI SAN. Never for production. Made with the same code as
//! `talent-gateway certs ...` (pki.rs); the CA key is kept beside it (0600) so a development
//! counter can be enrolled with `certs sign-csr --ca-dir DATA_DIR/certs`.

use crate::pki::Ca;
use std::path::{Path, PathBuf};

/// Validity of development certificates.
const DEV_DAYS: u32 = 3650;

/// Paths of a development PKI under one folder.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// Folder holding everything.
    pub dir: PathBuf,
}

impl DevPki {
    /// The CA certificate (also the client CA).
    pub fn ca(&self) -> PathBuf {
        self.dir.join(crate::pki::CA_CERT)
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
    let ca = Ca::new(
        "talent-gateway development CA",
        Some(trust_domain),
        DEV_DAYS,
    )?;
    ca.write(dir, true)?;

    let (cert, key) = ca.issue_server(
        &["localhost".to_owned()],
        &[
            std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::Ipv6Addr::LOCALHOST.into(),
        ],
        Some(&format!("spiffe://{trust_domain}/partner/{region}")),
        DEV_DAYS,
    )?;
    write(dir, "server.pem", &cert, false)?;
    write(dir, "server.key", &key, true)?;

    for (role, domain) in [
        ("operator", trust_domain),
        ("counter", trust_domain),
        ("partner", partner_domain),
    ] {
        client(dir, &ca, role, &format!("spiffe://{domain}/{role}/dev"))?;
    }
    Ok(DevPki {
        dir: dir.to_path_buf(),
    })
}

/// Writes a new CA (`ca.pem`, `ca.key`) and, for each (file name, SPIFFE ID), a client
/// certificate naming that identity (`NAME.pem`, `NAME.key`) into `dir`: another party's PKI,
/// e.g. a partner's CA naming identities it may or may not vouch for.
pub fn generate_clients(dir: &Path, clients: &[(&str, &str)]) -> anyhow::Result<DevPki> {
    let ca = Ca::new("talent-gateway development CA", None, DEV_DAYS)?;
    ca.write(dir, true)?;
    for (file, uri) in clients {
        client(dir, &ca, file, uri)?;
    }
    Ok(DevPki {
        dir: dir.to_path_buf(),
    })
}

/// A client certificate for `uri` signed by `ca`, as `dir/FILE.pem` and `dir/FILE.key`.
fn client(dir: &Path, ca: &Ca, file: &str, uri: &str) -> anyhow::Result<()> {
    let (cert, key) = ca.issue_client(uri, DEV_DAYS)?;
    write(dir, &format!("{file}.pem"), &cert, false)?;
    write(dir, &format!("{file}.key"), &key, true)
}

fn write(dir: &Path, file: &str, contents: &str, secret: bool) -> anyhow::Result<()> {
    crate::pki::write(&dir.join(file), contents, secret)
}
