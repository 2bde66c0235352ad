//! `talent-gateway bundle export`: the gateway's offline bundle, written to a file for
//! verifiers with no connection (`verify --offline`, the counter page, apps).

use super::ClientArgs;
use super::output::{iso, print_json};
use crate::pb::{self, federation_client::FederationClient};
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use talent_verifier::bundle::BundleClaims;

/// Offline bundle commands.
#[derive(Debug, Subcommand)]
pub(crate) enum BundleCommand {
    /// Ask the gateway for its offline bundle (Federation.GetOfflineBundle, open to
    /// everyone: `--public` works) and write it to a file.
    Export {
        /// The file to write (replaced whole, never left half written).
        #[arg(long)]
        out: PathBuf,
        /// Also write the gateway's published JWKS here: the trust anchor a verifier is
        /// provisioned with once (`verify --offline ... --trust FILE`).
        #[arg(long)]
        jwks: Option<PathBuf>,
    },
}

pub(crate) async fn run(cmd: BundleCommand, client: &ClientArgs) -> anyhow::Result<()> {
    let BundleCommand::Export { out, jwks } = cmd;
    let mut federation = FederationClient::new(client.channel().await?);
    if let Some(path) = &jwks {
        let set = federation
            .get_trust_bundle(pb::GetTrustBundleRequest {})
            .await?
            .into_inner()
            .jwks_json;
        write_whole(path, set.as_bytes())?;
    }
    let bundle = federation
        .get_offline_bundle(pb::GetOfflineBundleRequest {})
        .await?
        .into_inner()
        .bundle;
    let claims = claims_of(&bundle).context("the gateway answered a bundle that cannot be read")?;
    write_whole(&out, bundle.as_bytes())?;
    if client.json {
        print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "jwks": jwks.as_ref().map(|p| p.display().to_string()),
            "bytes": bundle.len(),
            "iss": claims.iss,
            "region": claims.region,
            "iat": claims.iat,
            "exp": claims.exp,
            "issuers": claims.issuers.iter().map(|i| i.issuer.as_str()).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!(
        "offline bundle of {} written to {}: {} bytes, {} issuers, made {}, good until {}",
        claims.iss,
        out.display(),
        bundle.len(),
        claims.issuers.len(),
        iso(claims.iat),
        iso(claims.exp)
    );
    Ok(())
}

/// The claims of a bundle, read without checking it (only to report what was written;
/// verifiers check it with `talent_verifier::bundle`).
fn claims_of(bundle: &str) -> anyhow::Result<BundleClaims> {
    let payload = bundle
        .split('.')
        .nth(1)
        .context("not a compact JWS (three parts)")?;
    let bytes = crate::credential::b64_decode(payload).context("payload is not base64url")?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Writes `bytes` to a file beside `out`, then renames it over `out`.
fn write_whole(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut part = out.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    std::fs::write(&part, bytes).with_context(|| format!("writing {}", part.display()))?;
    std::fs::rename(&part, out).with_context(|| format!("writing {}", out.display()))
}
