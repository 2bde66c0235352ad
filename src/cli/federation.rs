//! `talent-gateway federation ...`

use super::ClientArgs;
use super::output::{iso_ts, json, print_json};
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
            let answer = federation
                .get_federation_status(pb::GetFederationStatusRequest {})
                .await?
                .into_inner();
            if client.json {
                print_json(&json("GetFederationStatusResponse", &answer));
                return Ok(());
            }
            for p in answer.partners {
                println!(
                    "{}  sequence {}  last refresh {}  lag {} s{}  kids [{}]{}",
                    p.partner_id,
                    p.sequence,
                    iso_ts(p.last_refresh.as_ref()),
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
