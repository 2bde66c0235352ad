//! Command-line interface: serve, development certificates, and client commands that speak
//! to a running gateway over mutual TLS.

mod audit;
mod bundle;
mod card;
mod card_image;
mod catalogue;
mod certs;
mod client;
mod config_check;
mod counter;
mod database;
mod federation;
mod holder;
mod kek;
mod keys;
mod offline;
mod output;
mod partner;
mod qr_image;
pub mod vectors;
mod when;

use crate::config::{Overrides, Settings};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

pub use client::ClientArgs;

/// talent-gateway: cross-region talent-card gateway.
#[derive(Debug, Parser)]
#[command(name = "talent-gateway", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC over TLS (SQLite under --data-dir unless --database-url says postgres://).
    Serve(ServeArgs),
    /// Write a development CA, a server certificate and one client certificate per role.
    DevCerts {
        /// Folder to write into.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Trust domain of operators and counters.
        #[arg(long, default_value = "cq.talent")]
        trust_domain: String,
        /// Trust domain of the partner certificate.
        #[arg(long, default_value = "my.talent")]
        partner_domain: String,
        /// Region the server certificate names as its partner identity
        /// (spiffe://TRUST_DOMAIN/partner/REGION), for federation.
        #[arg(long, default_value = "chongqing")]
        region: String,
    },
    /// Ask a gateway's gRPC health service; exits 0 when SERVING.
    Health {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Signing keys (role operator).
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Federation with partner gateways (role operator or partner).
    Federation {
        #[command(subcommand)]
        command: federation::FederationCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Verify a card token or QR payload (any role, or --public); with `--offline BUNDLE
    /// --trust TRUST`, from an offline bundle with no network (exit 0 valid, 1 refused, 2
    /// the bundle or the trust anchor cannot be used).
    Verify {
        /// The token or QR payload.
        credential: String,
        /// A holder proof (kb+jwt) from `holder prove`, for a card bound to a holder key.
        #[arg(long, default_value = "")]
        holder_proof: String,
        /// Verify from this offline bundle (`bundle export`) instead of asking a gateway.
        #[arg(long, requires = "trust", conflicts_with = "holder_proof")]
        offline: Option<PathBuf>,
        /// What the bundle must be signed under: the gateway's JWKS (current or next key),
        /// or an earlier bundle of the same gateway.
        #[arg(long, requires = "offline")]
        trust: Option<PathBuf>,
        /// Decide at this time instead of now (offline only): Unix seconds, RFC 3339, or a
        /// date (from 00:00 +08:00).
        #[arg(long, requires = "offline", value_parser = when::unix_seconds)]
        at: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Holder binding: a holder key, and proofs that answer a gateway's challenge.
    Holder {
        #[command(subcommand)]
        command: holder::HolderCommand,
    },
    /// Partners under the agreement (role operator).
    Partner {
        #[command(subcommand)]
        command: partner::PartnerCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Catalogue versions and services.
    Catalogue {
        #[command(subcommand)]
        command: catalogue::CatalogueCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Check the audit log's hash chain in the database; names the first broken record.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Copy the embedded SQLite database to a new file while the gateway serves, and check
    /// the copy (integrity and audit chain).
    Backup {
        #[command(flatten)]
        db: database::DatabaseArgs,
        /// The file to write; it must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Cards (role operator).
    Card {
        #[command(subcommand)]
        command: card::CardCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The offline bundle: everything a verifier with no connection needs, signed.
    Bundle {
        #[command(subcommand)]
        command: bundle::BundleCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Counter tokens for the counter page (role operator).
    Counter {
        #[command(subcommand)]
        command: counter::CounterCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The deployment's PKI without openssl: a CA, client certificates, enrolment by CSR,
    /// and what the gateway sees in a certificate (certs/README.md).
    Certs {
        #[command(subcommand)]
        command: certs::CertsCommand,
    },
    /// Write the shared test vectors (a bundle, its trust anchor, credentials and their
    /// expected verdicts at --at) from public test keys: no database, no network.
    Vectors {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The time the verdicts are for (default: now): Unix seconds, RFC 3339, or a date
        /// (from 00:00 +08:00); the same --at, the same bytes.
        #[arg(long, allow_negative_numbers = true, value_parser = when::unix_seconds)]
        at: Option<i64>,
    },
    /// The configuration: `config check` prints the effective settings, secrets redacted,
    /// and every problem.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Read the settings as `serve` would; exits non-zero on any problem.
    Check {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print {ok, effective, problems} as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the whole chain, then compare it with its checkpoints (own, and with --config
    /// those federated partners witnessed); exits non-zero when it is broken, rewritten or
    /// truncated, naming the first record that no longer matches.
    Verify(audit::VerifyArgs),
}

/// Flags of `serve`.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Plain-HTTP address for Prometheus `GET /metrics` (off when unset).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Folder for the embedded database, development certificates and local secrets.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Server certificate chain (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// CA for client certificates (PEM).
    #[arg(long)]
    client_ca: Option<PathBuf>,
}

/// A command's outcome that is not plain failure: the exit code, and what to say (nothing
/// when the command printed its answer already).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// Printed on stderr when not empty.
    pub message: String,
}

impl Exit {
    /// A refusal the command has printed (exit 1).
    pub(crate) fn refused() -> Self {
        Self {
            code: 1,
            message: String::new(),
        }
    }

    /// Input that cannot be used at all, e.g. a bundle that does not verify (exit 2).
    pub(crate) fn unusable(message: String) -> Self {
        Self { code: 2, message }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => {
            let overrides = Overrides {
                listen: a.listen,
                metrics_listen: a.metrics_listen,
                data_dir: a.data_dir,
                database_url: a.database_url,
                tls_cert: a.tls_cert,
                tls_key: a.tls_key,
                client_ca: a.client_ca,
            };
            let settings = Settings::load(a.config.as_deref(), &overrides)?;
            crate::telemetry::init(&settings.log_format);
            std::fs::create_dir_all(&settings.data_dir)?;
            crate::server::serve(settings).await
        }
        Command::DevCerts {
            out,
            trust_domain,
            partner_domain,
            region,
        } => {
            crate::dev_certs::generate_for(&out, &trust_domain, &partner_domain, &region)?;
            println!(
                "wrote ca.pem, server.pem/.key and operator, counter, partner .pem/.key to {}",
                out.display()
            );
            Ok(())
        }
        Command::Health { client } => client::health(&client).await,
        Command::Audit {
            command: AuditCommand::Verify(args),
        } => audit::verify(&args).await,
        Command::Backup { db, out } => database::backup(&db, &out).await,
        Command::Keys { command, client } => keys::run(command, &client).await,
        Command::Federation { command, client } => federation::run(command, &client).await,
        Command::Card { command, client } => card::run(command, &client).await,
        Command::Bundle { command, client } => bundle::run(command, &client).await,
        Command::Counter { command, client } => counter::run(command, &client).await,
        Command::Partner { command, client } => partner::run(command, &client).await,
        Command::Catalogue { command, client } => catalogue::run(command, &client).await,
        Command::Verify {
            credential,
            offline: Some(bundle),
            trust: Some(trust),
            at,
            client,
            ..
        } => offline::verify(&bundle, &trust, at, &credential, client.json),
        Command::Verify {
            credential,
            holder_proof,
            client,
            ..
        } => card::verify(&credential, &holder_proof, &client).await,
        Command::Holder { command } => holder::run(command).await,
        Command::Config {
            command: ConfigCommand::Check { config, json },
        } => config_check::config_check(config.as_deref(), json),
        Command::Certs { command } => certs::run(command),
        Command::Vectors { out, at } => vectors::run(&out, at),
    }
}
