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
        /// In force from this unix time (default: now).
        #[arg(long)]
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
            }
        }
    }
    Ok(())
}
