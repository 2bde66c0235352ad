//! `talent-gateway partner ...` (role operator).

use super::ClientArgs;
use super::output::{json, print_json};
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
            let answer = admin
                .list_partners(pb::ListPartnersRequest {})
                .await?
                .into_inner();
            if client.json {
                print_json(&json("ListPartnersResponse", &answer));
                return Ok(());
            }
            answer.partners
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
            let answer = admin
                .add_partner(pb::AddPartnerRequest {
                    partner: Some(partner),
                    jwks_json,
                })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("AddPartnerResponse", &answer));
                return Ok(());
            }
            answer.partner.into_iter().collect()
        }
        PartnerCommand::Suspend { id, reason } => {
            suspend(&mut admin, id, true, reason, client.json).await?
        }
        PartnerCommand::Resume { id } => {
            suspend(&mut admin, id, false, String::new(), client.json).await?
        }
        PartnerCommand::Remove { id } => {
            let answer = admin
                .remove_partner(pb::RemovePartnerRequest { id: id.clone() })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("RemovePartnerResponse", &answer));
            } else {
                println!("removed {id}");
            }
            return Ok(());
        }
        PartnerCommand::RevokeKey { id, kid, reason } => {
            let answer = admin
                .revoke_partner_key(pb::RevokePartnerKeyRequest {
                    partner_id: id.clone(),
                    kid: kid.clone(),
                    reason,
                })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("RevokePartnerKeyResponse", &answer));
            } else {
                println!("revoked {kid} of partner {id}");
            }
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

/// Suspends or resumes a partner; with `json`, prints the answer and returns no rows.
async fn suspend(
    admin: &mut AdminClient<tonic::transport::Channel>,
    id: String,
    suspended: bool,
    reason: String,
    as_json: bool,
) -> anyhow::Result<Vec<pb::Partner>> {
    let answer = admin
        .suspend_partner(pb::SuspendPartnerRequest {
            id,
            suspended,
            reason,
        })
        .await?
        .into_inner();
    if as_json {
        print_json(&json("SuspendPartnerResponse", &answer));
        return Ok(Vec::new());
    }
    Ok(answer.partner.into_iter().collect())
}
