//! `talent-gateway counter token ...`: a bearer token for a counter's browser (role operator).

use super::ClientArgs;
use crate::pb::{self, admin_client::AdminClient};
use clap::Subcommand;

/// Counter commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CounterCommand {
    /// Issue a short-lived counter token; prints it on stdout, alone, for scripts.
    Token {
        /// The counter's name, e.g. desk-1.
        #[arg(long)]
        name: String,
        /// Hours of validity (1 to 24).
        #[arg(long, default_value_t = 12)]
        valid_hours: u32,
    },
}

pub(crate) async fn run(cmd: CounterCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let CounterCommand::Token { name, valid_hours } = cmd;
    let issued = AdminClient::new(client.channel().await?)
        .issue_counter_token(pb::IssueCounterTokenRequest { name, valid_hours })
        .await?
        .into_inner();
    eprintln!(
        "counter token for {}, expires at {} (Unix seconds)",
        issued.counter,
        issued.expires_at.map_or(0, |t| t.seconds)
    );
    println!("{}", issued.token);
    Ok(())
}
