//! Re-sealing every stored sealed key under the first key-encryption key in force (`keys
//! rewrap`); the keys themselves are loaded from configuration by `server::load_keys`.

use crate::credential::KeyEncryptionKeys;
use crate::store::{AuditEntry, SealedRecord, Store};
use anyhow::Context;

/// What a rewrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    /// Records sealed anew under the first key.
    pub resealed: usize,
    /// Records already sealed under it.
    pub current: usize,
}

/// Re-seals every stored sealed key under the ring's first key, in one transaction, audited.
/// Idempotent: records already sealed under it are left alone. A record no key of the ring
/// opens stops the run before anything is written.
pub async fn rewrap(
    store: &dyn Store,
    keys: &KeyEncryptionKeys,
    caller: &str,
) -> anyhow::Result<Rewrapped> {
    let records = store.sealed_records().await?;
    let mut changed = Vec::new();
    for r in &records {
        let resealed = keys
            .rewrap(&r.sealed, &r.label)
            .with_context(|| format!("{} {}", r.table, r.name))?;
        if let Some(sealed) = resealed {
            changed.push((r.clone(), sealed));
        }
    }
    let outcome = Rewrapped {
        resealed: changed.len(),
        current: records.len() - changed.len(),
    };
    if changed.is_empty() {
        return Ok(outcome);
    }
    let audit = AuditEntry {
        at: super::now(),
        caller: caller.to_owned(),
        event: "kek.rewrap".into(),
        object: keys.sealing_key().id().to_owned(),
        result: "ok".into(),
        detail: format!(
            "{} sealed keys re-sealed under key-encryption key {} ({} already were)",
            outcome.resealed,
            keys.sealing_key().id(),
            outcome.current
        ),
    };
    let updates: Vec<(SealedRecord, Vec<u8>)> = changed;
    store.reseal(&updates, &audit).await?;
    Ok(outcome)
}
