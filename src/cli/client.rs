//! Connecting to a running gateway as a client, over TLS with an optional client certificate.

use anyhow::Context;
use std::path::PathBuf;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// Where the gateway is and who we are.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Gateway address.
    #[arg(long, global = true, default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// CA that signed the gateway's certificate [default: data/certs/ca.pem].
    #[arg(long, global = true)]
    pub ca: Option<PathBuf>,
    /// Client certificate [default: data/certs/operator.pem].
    #[arg(long, global = true)]
    pub cert: Option<PathBuf>,
    /// Client key [default: data/certs/operator.key].
    #[arg(long, global = true)]
    pub key: Option<PathBuf>,
    /// Call without a client certificate (as the public).
    #[arg(long, global = true)]
    pub public: bool,
    /// Name the server certificate must carry.
    #[arg(long, global = true, default_value = "localhost")]
    pub server_name: String,
    /// Print results as JSON (proto field names, every field, times RFC 3339 +08:00).
    #[arg(long, global = true)]
    pub json: bool,
}

impl ClientArgs {
    /// A connected channel.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        let certs = PathBuf::from("data/certs");
        let ca = self.ca.clone().unwrap_or_else(|| certs.join("ca.pem"));
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(
                std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?,
            ))
            .domain_name(self.server_name.clone());
        if !self.public {
            let cert = self
                .cert
                .clone()
                .unwrap_or_else(|| certs.join("operator.pem"));
            let key = self
                .key
                .clone()
                .unwrap_or_else(|| certs.join("operator.key"));
            if cert.exists() && key.exists() {
                tls = tls.identity(Identity::from_pem(
                    std::fs::read(&cert)?,
                    std::fs::read(&key)?,
                ));
            }
        }
        let uri = if self.addr.contains("://") {
            self.addr.clone()
        } else {
            format!("https://{}", self.addr)
        };
        Channel::from_shared(uri)?
            .tls_config(tls)?
            .connect()
            .await
            .with_context(|| format!("connecting to {}", self.addr))
    }
}

/// Exits 0 when the gateway's health service says SERVING.
pub(crate) async fn health(args: &ClientArgs) -> anyhow::Result<()> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(args.channel().await?);
    let status = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner()
        .status();
    if args.json {
        // grpc.health.v1.HealthCheckResponse, its one field.
        super::output::print_json(&serde_json::json!({ "status": status.as_str_name() }));
    } else {
        println!("{}", status.as_str_name());
    }
    anyhow::ensure!(
        status == tonic_health::pb::health_check_response::ServingStatus::Serving,
        "not serving"
    );
    Ok(())
}
