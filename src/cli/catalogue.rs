//! `talent-gateway catalogue ...`: import a new version, list a region's services.

use super::ClientArgs;
use super::output::{json, print_json};
use crate::pb::{self, admin_client::AdminClient, entitlements_client::EntitlementsClient};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// Catalogue commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CatalogueCommand {
    /// Import a catalogue document as a new version (role operator).
    Import {
        /// The TOML document (see catalogue/catalogue.toml).
        file: PathBuf,
        /// In force from this time (default: now): Unix seconds, RFC 3339
        /// (2027-01-01T09:00:00+08:00), or a date (2027-01-01, from 00:00 +08:00).
        #[arg(long, value_parser = super::when::unix_seconds)]
        effective_from: Option<i64>,
    },
    /// List a region's services in both languages.
    List {
        /// Region id.
        #[arg(long, default_value = "")]
        region: String,
    },
}

pub(crate) async fn run(cmd: CatalogueCommand, client: &ClientArgs) -> anyhow::Result<()> {
    match cmd {
        CatalogueCommand::Import {
            file,
            effective_from,
        } => {
            let catalogue = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let r = AdminClient::new(client.channel().await?)
                .import_catalogue(pb::ImportCatalogueRequest {
                    catalogue,
                    effective_from: effective_from
                        .map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
                })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("ImportCatalogueResponse", &r));
                return Ok(());
            }
            println!("imported catalogue version {}", r.catalogue_version);
        }
        CatalogueCommand::List { region } => {
            let r = EntitlementsClient::new(client.channel().await?)
                .list_services(pb::ListServicesRequest { region })
                .await?
                .into_inner();
            if client.json {
                print_json(&json("ListServicesResponse", &r));
                return Ok(());
            }
            println!("{} (catalogue {})", r.region, r.catalogue_version);
            for s in r.services {
                println!(
                    "  {:<6} {:<14} {:<12} {} / {}",
                    s.service_code,
                    s.tiers.join(""),
                    s.quota,
                    s.name_zh,
                    s.name_en
                );
                let amounts: Vec<String> = s
                    .tiers
                    .iter()
                    .filter_map(|t| Some(format!("{t} {}", s.amount_yuan_by_tier.get(t)?)))
                    .collect();
                if !amounts.is_empty() {
                    println!("         yuan: {}", amounts.join(", "));
                }
                if !s.stay_stages.is_empty() {
                    println!("         stay:{}", amount_text(0, "stay", &s.stay_stages));
                }
            }
        }
    }
    Ok(())
}

/// An entitlement's amount or stay in words (" 8000 yuan a year", " 90 days free, then 90
/// days at 50%"); empty for a service that counts uses.
pub(crate) fn amount_text(amount_yuan: i64, period: &str, stages: &[pb::StayStage]) -> String {
    match period {
        "year" => format!(" ({amount_yuan} yuan a year)"),
        "once" => format!(" ({amount_yuan} yuan once)"),
        "stay" => {
            let parts: Vec<String> = stages
                .iter()
                .map(|s| match s.pay_percent {
                    0 => format!("{} days free", s.days),
                    p => format!("{} days at {p}%", s.days),
                })
                .collect();
            format!(" ({})", parts.join(", then "))
        }
        _ => String::new(),
    }
}
