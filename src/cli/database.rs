//! Commands that open the database directly, without a running gateway: the SQLite backup
//! (and the database flags `audit verify` shares).

use clap::Args;
use sqlx::Connection;
use std::path::{Path, PathBuf};

/// Which database: a URL, or the embedded one under a data folder.
#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// The database (default: SQLite under --data-dir).
    #[arg(long)]
    pub(crate) database_url: Option<String>,
    /// Data folder of the embedded database (default: data).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

impl DatabaseArgs {
    pub(crate) fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir
                    .as_deref()
                    .unwrap_or(Path::new("data"))
                    .join("talent-gateway.db")
                    .display()
            )
        })
    }
}

/// Writes a consistent copy of the embedded database to `out` while the gateway keeps
/// serving (`VACUUM INTO` reads one snapshot), then checks the copy's integrity and audit
/// chain. PostgreSQL is backed up by its own tools (pg_dump, or the operator's WAL archive).
pub(crate) async fn backup(db: &DatabaseArgs, out: &Path) -> anyhow::Result<()> {
    let url = db.url();
    anyhow::ensure!(
        url.starts_with("sqlite:"),
        "backup copies the embedded SQLite database; back PostgreSQL up with pg_dump or \
         its continuous archive (deploy/kubernetes/postgres-cluster.yaml)"
    );
    anyhow::ensure!(!out.exists(), "{} exists already", out.display());
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    anyhow::ensure!(Path::new(path).exists(), "no database at {path}");
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let target = out
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("--out is not UTF-8"))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await?;
    conn.close().await?;

    let copy = format!("sqlite://{target}");
    let mut check = sqlx::SqliteConnection::connect(&copy).await?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut check)
        .await?;
    check.close().await?;
    anyhow::ensure!(
        integrity == "ok",
        "the copy fails its integrity check: {integrity}"
    );
    let store = crate::store::connect(&copy).await?;
    let records = match crate::service::check_audit_chain(store.as_ref()).await? {
        crate::service::ChainCheck::Intact { records } => records,
        crate::service::ChainCheck::Broken { seq, why } => {
            anyhow::bail!("the copy's audit chain is broken at record {seq}: {why}")
        }
    };
    let bytes = std::fs::metadata(out)?.len();
    if db.json {
        super::output::print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "bytes": bytes,
            "integrity": integrity,
            "audit_records": records,
        }));
        return Ok(());
    }
    println!(
        "backup written to {}: {bytes} bytes, integrity ok, audit chain intact ({records} records)",
        out.display()
    );
    Ok(())
}
