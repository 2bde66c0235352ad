//! `talent-gateway partner ...` (role operator).

use super::ClientArgs;
use crate::pb::{self, admin_client::AdminClient};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// Partner commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PartnerCommand {
    /// List partners, their source and keys.
    List,
    /// Add a partner (config-file partners are changed in the file).
    Add {
        /// Region id, e.g. "chengdu".
        #[arg(long)]
        id: String,
        /// Token profile.
        #[arg(long, default_value = "science-city-card-v1")]
        profile: String,
        /// The partner's `iss`.
        #[arg(long)]
        issuer: String,
        /// Its JWK Set, read here and sent to the gateway.
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// Or its gateway, polled over mutual TLS.
        #[arg(long)]
        federation_endpoint: Option<String>,
    },
    /// Suspend a partner: its cards are refused with PARTNER_SUSPENDED.
    Suspend {
        /// Partner id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Resume a suspended partner.
    Resume {
        /// Partner id.
        id: String,
    },
    /// Remove a partner added through Admin.
    Remove {
        /// Partner id.
        id: String,
    },
    /// Revoke one of a partner's keys here, for good (also a config-file partner's).
    RevokeKey {
        /// Partner id.
        id: String,
        /// The key id.
        kid: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn run(cmd: PartnerCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let mut admin = AdminClient::new(client.channel().await?);
    let partners = match cmd {
        PartnerCommand::List => {
            admin
                .list_partners(pb::ListPartnersRequest {})
                .await?
                .into_inner()
                .partners
        }
        PartnerCommand::Add {
            id,
            profile,
            issuer,
            jwks,
            federation_endpoint,
        } => {
            let jwks_json = match jwks {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?,
                None => String::new(),
            };
            let partner = pb::Partner {
                id,
                profile,
                issuer,
                federation_endpoint: federation_endpoint.unwrap_or_default(),
                ..Default::default()
            };
            admin
                .add_partner(pb::AddPartnerRequest {
                    partner: Some(partner),
                    jwks_json,
                })
                .await?
                .into_inner()
                .partner
                .into_iter()
                .collect()
        }
        PartnerCommand::Suspend { id, reason } => admin
            .suspend_partner(pb::SuspendPartnerRequest {
                id,
                suspended: true,
                reason,
            })
            .await?
            .into_inner()
            .partner
            .into_iter()
            .collect(),
        PartnerCommand::Resume { id } => admin
            .suspend_partner(pb::SuspendPartnerRequest {
                id,
                suspended: false,
                reason: String::new(),
            })
            .await?
            .into_inner()
            .partner
            .into_iter()
            .collect(),
        PartnerCommand::Remove { id } => {
            admin
                .remove_partner(pb::RemovePartnerRequest { id: id.clone() })
                .await?;
            println!("removed {id}");
            return Ok(());
        }
        PartnerCommand::RevokeKey { id, kid, reason } => {
            admin
                .revoke_partner_key(pb::RevokePartnerKeyRequest {
                    partner_id: id.clone(),
                    kid: kid.clone(),
                    reason,
                })
                .await?;
            println!("revoked {kid} of partner {id}");
            return Ok(());
        }
    };
    for p in partners {
        println!(
            "{:<12} {:<8} {:<10} {:<32} keys: {}",
            p.id,
            p.source,
            if p.suspended { "SUSPENDED" } else { "active" },
            p.issuer,
            p.key_ids.join(", ")
        );
    }
    Ok(())
}
