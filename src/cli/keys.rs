//! `talent-gateway keys ...`

use super::ClientArgs;
use crate::pb::{self, admin_client::AdminClient};
use clap::Subcommand;

/// Key commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List signing keys and their states.
    List,
    /// Publish a next key that signs after the pre-publication period.
    Rotate {
        /// Seconds before the next key signs (0: the configured default).
        #[arg(long, default_value_t = 0)]
        prepublish_seconds: u32,
    },
    /// Re-seal every stored key under the first key-encryption key (opens the database
    /// directly); then the other keys can be dropped from key_encryption_keys.
    Rewrap(super::kek::RewrapArgs),
}

pub(crate) async fn run(cmd: KeysCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let cmd = match cmd {
        KeysCommand::Rewrap(args) => return super::kek::rewrap(&args).await,
        cmd => cmd,
    };
    let mut admin = AdminClient::new(client.channel().await?);
    let keys = match cmd {
        KeysCommand::List => {
            admin
                .list_keys(pb::ListKeysRequest {})
                .await?
                .into_inner()
                .keys
        }
        KeysCommand::Rotate { prepublish_seconds } => admin
            .rotate_keys(pb::RotateKeysRequest { prepublish_seconds })
            .await?
            .into_inner()
            .next_key
            .into_iter()
            .collect(),
        KeysCommand::Rewrap(_) => unreachable!("handled above"),
    };
    for k in keys {
        println!(
            "{}  {}  {:<8} signs from {}",
            k.key_id,
            k.algorithm,
            k.state,
            k.signs_from.map_or(0, |t| t.seconds)
        );
    }
    Ok(())
}
