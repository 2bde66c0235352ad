//! `talent-gateway verify --offline BUNDLE --trust TRUST CREDENTIAL`: a verdict from a signed
//! offline bundle with no network, by the verifier crate (the gateway's own decision code).
//! Exit 0: valid; 1: refused; 2: the bundle or the trust anchor cannot be used.

use super::Exit;
use crate::pb;
use std::path::Path;
use talent_verifier::bundle::{Anchor, OfflineBundle};

/// Verifies `credential` at `at` (now when None) against `bundle`, which a key `trust`
/// lists must have signed.
pub(crate) fn verify(
    bundle: &Path,
    trust: &Path,
    at: Option<i64>,
    credential: &str,
    as_json: bool,
) -> anyhow::Result<()> {
    let anchor = Anchor::parse(read(trust, "trust anchor")?.trim()).map_err(|e| {
        Exit::unusable(format!(
            "trust anchor {} cannot be used: {e}",
            trust.display()
        ))
    })?;
    let opened = OfflineBundle::open(read(bundle, "bundle")?.trim(), &anchor).map_err(|e| {
        Exit::unusable(format!(
            "bundle {} refused under trust anchor {}: {e}",
            bundle.display(),
            trust.display()
        ))
    })?;
    let at = at.unwrap_or_else(crate::service::now);
    let v: pb::VerifyCardResponse =
        crate::api::verdict_response(opened.verify(credential.trim(), at), "");
    super::card::print_verdict(&v, as_json);
    if v.valid {
        Ok(())
    } else {
        Err(Exit::refused().into())
    }
}

fn read(path: &Path, what: &str) -> Result<String, Exit> {
    std::fs::read_to_string(path)
        .map_err(|e| Exit::unusable(format!("cannot read {what} {}: {e}", path.display())))
}
