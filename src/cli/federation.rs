//! `talent-gateway federation ...`

use super::ClientArgs;
use crate::pb::{self, federation_client::FederationClient};
use clap::Subcommand;

/// Federation commands.
#[derive(Debug, Subcommand)]
pub(crate) enum FederationCommand {
    /// Each partner's last good refresh, sequence, lag, key ids and last error.
    Status,
}

pub(crate) async fn run(cmd: FederationCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let mut federation = FederationClient::new(client.channel().await?);
    match cmd {
        FederationCommand::Status => {
            let partners = federation
                .get_federation_status(pb::GetFederationStatusRequest {})
                .await?
                .into_inner()
                .partners;
            for p in partners {
                println!(
                    "{}  sequence {}  last refresh {}  lag {} s{}  kids [{}]{}",
                    p.partner_id,
                    p.sequence,
                    p.last_refresh.map_or(0, |t| t.seconds),
                    p.lag_seconds,
                    if p.stale { "  STALE" } else { "" },
                    p.kids.join(", "),
                    if p.last_error.is_empty() {
                        String::new()
                    } else {
                        format!("  last error: {}", p.last_error)
                    }
                );
            }
        }
    }
    Ok(())
}
