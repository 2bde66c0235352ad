//! `talent-gateway keys rewrap`: re-seals every stored sealed key under the first
//! key-encryption key, opening the database directly (no running gateway needed).

use crate::config::{Overrides, Settings};
use clap::Args;
use std::path::PathBuf;

/// Where the settings and the database are, as for `serve`.
#[derive(Debug, Args)]
pub(crate) struct RewrapArgs {
    /// TOML configuration file (its key_encryption_keys, database_url and data_dir).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The database (default: from the configuration).
    #[arg(long)]
    database_url: Option<String>,
    /// Data folder (the embedded database and the single-machine key file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Re-seals under the first key; prints how many records were re-sealed.
pub(crate) async fn rewrap(a: &RewrapArgs, as_json: bool) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: a.data_dir.clone(),
        database_url: a.database_url.clone(),
        ..Default::default()
    };
    let settings = Settings::load(a.config.as_deref(), &overrides)?;
    let keys = crate::server::load_keys(&settings, false)?;
    let store = crate::store::connect(&settings.database_url()).await?;
    let done = crate::service::rewrap(store.as_ref(), &keys, "cli:keys-rewrap").await?;
    let sealing = keys.sealing_key().id();
    let others: Vec<&str> = keys.ids().into_iter().skip(1).collect();
    if as_json {
        // Keys nothing stored needs any more: drop them once every replica seals with the first.
        super::output::print_json(&serde_json::json!({
            "resealed": done.resealed,
            "already_current": done.current,
            "sealing_key": sealing,
            "no_longer_needed": others,
        }));
        return Ok(());
    }
    println!(
        "re-sealed {} sealed keys under key-encryption key {sealing} ({} already were)",
        done.resealed, done.current
    );
    if !others.is_empty() {
        println!(
            "nothing stored needs {} any more: drop it from key_encryption_keys on every \
             replica once every replica runs with {sealing} first",
            others.join(", ")
        );
    }
    Ok(())
}
