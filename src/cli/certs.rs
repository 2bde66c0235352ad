//! `talent-gateway certs ...`: the deployment's PKI with the binary alone (no openssl). A CA
//! per trust domain, client certificates for operators, counters and partners, enrolment by
//! a certificate signing request (the key never leaves the counter's machine), and what the
//! gateway will see in a certificate. certs/README.md says which CA signs what.

use crate::pki::{self, Ca, CertInfo};
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// Certificate commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// Make a CA: writes DIR/ca.pem (give it to the gateway as client_ca) and DIR/ca.key
    /// (0600; keep it on the signing machine). Refuses to overwrite a CA key.
    InitCa {
        /// Folder to write into.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// The trust domain this CA vouches for (its certificate names spiffe://DOMAIN).
        #[arg(long, default_value = "cq.talent")]
        trust_domain: String,
        /// Days of validity.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// The CA's common name.
        #[arg(long, default_value = "talent-gateway CA")]
        common_name: String,
    },
    /// Make a key and a client certificate for spiffe://TRUST_DOMAIN/ROLE/NAME, signed by the
    /// CA in --ca-dir: OUT_DIR/ROLE-NAME.pem and OUT_DIR/ROLE-NAME.key (0600).
    Issue {
        #[command(flatten)]
        who: Enrolment,
        /// Folder to write the certificate and key into [default: the CA folder].
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Make the gateway's server key and certificate, signed by the CA in --ca-dir: its DNS
    /// names, and the gateway's own partner identity spiffe://TRUST_DOMAIN/partner/REGION
    /// (for client auth too: it is the certificate the gateway calls partners with).
    /// Writes OUT_DIR/server.pem and OUT_DIR/server.key (0600).
    IssueServer {
        /// DNS names the server answers to (repeat the flag), e.g. gateway.cq.example.
        #[arg(long, required = true)]
        dns: Vec<String>,
        /// IP addresses, if callers dial one (repeat the flag).
        #[arg(long)]
        ip: Vec<std::net::IpAddr>,
        /// This gateway's region: its partner identity's last part.
        #[arg(long, default_value = "chongqing")]
        region: String,
        /// Days of validity.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Folder holding the CA (ca.pem and ca.key).
        #[arg(long, default_value = "certs")]
        ca_dir: PathBuf,
        /// Trust domain [default: the one the CA certificate names].
        #[arg(long)]
        trust_domain: Option<String>,
        /// Folder to write into [default: the CA folder].
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Sign a certificate signing request (from `certs csr`) for spiffe://TRUST_DOMAIN/ROLE/NAME.
    /// The request's signature must verify; its own subject and names are ignored: the
    /// identity is --role and --name. Prints the certificate, or writes it to --out.
    SignCsr {
        #[command(flatten)]
        who: Enrolment,
        /// The request (PEM).
        csr: PathBuf,
        /// Where to write the certificate [default: stdout].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make a key and a certificate signing request where the key will stay (a counter's
    /// machine): send the CSR to whoever holds the CA key, keep the key.
    Csr {
        /// Where to write the key (0600; never overwritten).
        #[arg(long)]
        out_key: PathBuf,
        /// Where to write the request.
        #[arg(long)]
        out_csr: PathBuf,
        /// A name for the request (informational: the CA decides the identity).
        #[arg(long, default_value = "talent-gateway client")]
        common_name: String,
    },
    /// Show a certificate (PEM): the identity and role the gateway will see, subject,
    /// issuer, validity and serial.
    Inspect {
        /// The certificate (PEM).
        file: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Who a certificate is for, and the CA that signs it.
#[derive(Debug, clap::Args)]
pub(crate) struct Enrolment {
    /// operator, counter or partner.
    #[arg(long)]
    role: String,
    /// The caller's name, e.g. hall-1: the last part of its SPIFFE ID.
    #[arg(long)]
    name: String,
    /// Days of validity.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Folder holding the CA (ca.pem and ca.key).
    #[arg(long, default_value = "certs")]
    ca_dir: PathBuf,
    /// Trust domain [default: the one the CA certificate names].
    #[arg(long)]
    trust_domain: Option<String>,
}

impl Enrolment {
    /// The CA, and the identity it is asked to vouch for.
    fn resolve(&self) -> anyhow::Result<(Ca, String)> {
        let ca = Ca::load(&self.ca_dir)?;
        let domain = match (&self.trust_domain, ca.trust_domain()) {
            (Some(d), _) => d.clone(),
            (None, Some(d)) => d,
            (None, None) => anyhow::bail!(
                "the CA in {} names no trust domain: give --trust-domain",
                self.ca_dir.display()
            ),
        };
        let id = pki::client_identity(&domain, &self.role, &self.name)?;
        Ok((ca, id.to_string()))
    }
}

pub(crate) fn run(cmd: CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::InitCa {
            dir,
            trust_domain,
            days,
            common_name,
        } => {
            let key = dir.join(pki::CA_KEY);
            anyhow::ensure!(
                !key.exists(),
                "{} exists: a CA is already there (move it away to make a new one)",
                key.display()
            );
            // The domain is checked as an identity under it would be.
            pki::client_identity(&trust_domain, "operator", "check")?;
            Ca::new(&common_name, Some(&trust_domain), days)?.write(&dir, true)?;
            println!(
                "wrote {} and {} (CA for spiffe://{trust_domain}, {days} days)",
                dir.join(pki::CA_CERT).display(),
                key.display()
            );
        }
        CertsCommand::Issue { who, out_dir } => {
            let (ca, id) = who.resolve()?;
            let out_dir = out_dir.unwrap_or_else(|| who.ca_dir.clone());
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("creating {}", out_dir.display()))?;
            let stem = format!("{}-{}", who.role, who.name);
            let (cert_path, key_path) = (
                out_dir.join(format!("{stem}.pem")),
                out_dir.join(format!("{stem}.key")),
            );
            anyhow::ensure!(
                !key_path.exists(),
                "{} exists: not overwritten",
                key_path.display()
            );
            let (cert, key) = ca.issue_client(&id, who.days)?;
            pki::write(&key_path, &key, true)?;
            pki::write(&cert_path, &cert, false)?;
            println!(
                "wrote {} and {} for {id}, {} days",
                cert_path.display(),
                key_path.display(),
                who.days
            );
        }
        CertsCommand::IssueServer {
            dns,
            ip,
            region,
            days,
            ca_dir,
            trust_domain,
            out_dir,
        } => {
            let who = Enrolment {
                role: "partner".into(),
                name: region,
                days,
                ca_dir,
                trust_domain,
            };
            let (ca, id) = who.resolve()?;
            let out_dir = out_dir.unwrap_or_else(|| who.ca_dir.clone());
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("creating {}", out_dir.display()))?;
            let (cert_path, key_path) = (out_dir.join("server.pem"), out_dir.join("server.key"));
            anyhow::ensure!(
                !key_path.exists(),
                "{} exists: not overwritten",
                key_path.display()
            );
            let (cert, key) = ca.issue_server(&dns, &ip, Some(&id), days)?;
            pki::write(&key_path, &key, true)?;
            pki::write(&cert_path, &cert, false)?;
            println!(
                "wrote {} and {} for {} and {id}, {days} days",
                cert_path.display(),
                key_path.display(),
                dns.join(", ")
            );
        }
        CertsCommand::SignCsr { who, csr, out } => {
            let (ca, id) = who.resolve()?;
            let request = std::fs::read_to_string(&csr)
                .with_context(|| format!("reading {}", csr.display()))?;
            let cert = ca
                .sign_csr(&request, &id, who.days)
                .with_context(|| format!("{} refused", csr.display()))?;
            match out {
                Some(path) => {
                    pki::write(&path, &cert, false)?;
                    eprintln!("wrote {} for {id}, {} days", path.display(), who.days);
                }
                None => print!("{cert}"),
            }
        }
        CertsCommand::Csr {
            out_key,
            out_csr,
            common_name,
        } => {
            anyhow::ensure!(
                !out_key.exists(),
                "{} exists: not overwritten",
                out_key.display()
            );
            let (key, request) = pki::new_csr(&common_name)?;
            pki::write(&out_key, &key, true)?;
            pki::write(&out_csr, &request, false)?;
            println!(
                "wrote {} (keep it here) and {} (send it to the CA)",
                out_key.display(),
                out_csr.display()
            );
        }
        CertsCommand::Inspect { file, json } => inspect(&file, json)?,
    }
    Ok(())
}

fn inspect(file: &Path, json: bool) -> anyhow::Result<()> {
    use super::output::iso;
    let pem =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let info = CertInfo::of_der(&pki::pem_der(&pem).with_context(|| file.display().to_string())?)?;
    let identity = info
        .identity
        .as_ref()
        .map_or_else(String::new, ToString::to_string);
    let role = info.role().as_str();
    if json {
        super::output::print_json(&serde_json::json!({
            "identity": identity,
            "role": role,
            "trust_domain": info.identity.as_ref().map_or("", |i| i.trust_domain()),
            "name": info.identity.as_ref().map_or("", |i| i.name()),
            "subject": info.subject,
            "issuer": info.issuer,
            "serial": info.serial,
            "not_before": iso(info.not_before),
            "not_after": iso(info.not_after),
            "is_ca": info.is_ca,
            "uris": info.uris,
            "dns_names": info.dns,
        }));
        return Ok(());
    }
    if info.is_ca {
        println!("a CA certificate (it signs; the gateway trusts it as client_ca)");
    }
    match &info.identity {
        Some(id) => println!("identity    {id}\nrole        {role}"),
        None => println!("identity    none: the gateway sees a public caller\nrole        public"),
    }
    println!("subject     {}", info.subject);
    println!("issuer      {}", info.issuer);
    println!("serial      {}", info.serial);
    println!("not_before  {}", iso(info.not_before));
    println!("not_after   {}", iso(info.not_after));
    for u in &info.uris {
        println!("uri         {u}");
    }
    for d in &info.dns {
        println!("dns         {d}");
    }
    Ok(())
}
