//! `talent-gateway keys ...`

use super::ClientArgs;
use super::output::{iso_ts, json, print_json};
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
    /// Revoke a signing key for good (a compromised key): its tokens get KEY_REVOKED at
    /// once; if it signs, the next key signs at once. Repeat it to finish a cut-short run.
    Revoke {
        /// The key id (see `keys list`).
        kid: String,
        /// Why (kept in the audit log and published to partners).
        #[arg(long)]
        reason: String,
        /// Give every live card the key signed a new token under the current key.
        #[arg(long)]
        renew: bool,
    },
    /// Re-seal every stored key under the first key-encryption key (opens the database
    /// directly); then the other keys can be dropped from key_encryption_keys.
    Rewrap(super::kek::RewrapArgs),
}

pub(crate) async fn run(cmd: KeysCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let cmd = match cmd {
        KeysCommand::Rewrap(args) => return super::kek::rewrap(&args, client.json).await,
        cmd => cmd,
    };
    let mut admin = AdminClient::new(client.channel().await?);
    if let KeysCommand::Revoke { kid, reason, renew } = cmd {
        let answer = admin
            .revoke_key(pb::RevokeKeyRequest {
                kid: kid.clone(),
                reason,
                renew_cards: renew,
            })
            .await?
            .into_inner();
        if client.json {
            print_json(&json("RevokeKeyResponse", &answer));
            return Ok(());
        }
        let renewed = answer.renewed;
        println!("revoked {kid}");
        if renew {
            println!("renewed {renewed} cards under the current key");
        }
        let keys = admin
            .list_keys(pb::ListKeysRequest {})
            .await?
            .into_inner()
            .keys;
        print_keys(keys);
        return Ok(());
    }
    let keys = match cmd {
        KeysCommand::List => {
            let answer = admin.list_keys(pb::ListKeysRequest {}).await?.into_inner();
            if client.json {
                print_json(&json("ListKeysResponse", &answer));
                return Ok(());
            }
            answer.keys
        }
        KeysCommand::Rotate { prepublish_seconds } => {
            let answer = admin
                .rotate_keys(pb::RotateKeysRequest { prepublish_seconds })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("RotateKeysResponse", &answer));
                return Ok(());
            }
            answer.next_key.into_iter().collect()
        }
        KeysCommand::Revoke { .. } => Vec::new(),
        KeysCommand::Rewrap(_) => unreachable!("handled above"),
    };
    print_keys(keys);
    Ok(())
}

fn print_keys(keys: Vec<pb::SigningKey>) {
    for k in keys {
        println!(
            "{}  {}  {:<8} signs from {}",
            k.key_id,
            k.algorithm,
            k.state,
            iso_ts(k.signs_from.as_ref())
        );
    }
}
