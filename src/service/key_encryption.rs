//! The key-encryption keys in force, from configuration, and re-sealing every stored sealed
//! key under the first of them (`keys rewrap`).

use crate::config::Settings;
use crate::credential::KeyEncryptionKeys;
use crate::store::{AuditEntry, SealedRecord, Store};
use anyhow::Context;

/// Where the single-machine key-encryption key lives under the data folder.
pub fn key_file(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("secrets").join("key-encryption.key")
}

/// The ring from `key_encryption_keys`, else the one `key_encryption_key`, else the 0600 key
/// file under the data folder (made when `may_create` and missing: a first start).
pub fn load_keys(settings: &Settings, may_create: bool) -> anyhow::Result<KeyEncryptionKeys> {
    let sealing = settings.key_sealing.parse()?;
    Ok(load_ring(settings, may_create)?.sealing_with(sealing))
}

fn load_ring(settings: &Settings, may_create: bool) -> anyhow::Result<KeyEncryptionKeys> {
    if !settings.key_encryption_keys.is_empty() {
        anyhow::ensure!(
            settings.key_encryption_key.is_none(),
            "key_encryption_key and key_encryption_keys are both set: give the old key as one \
             entry of key_encryption_keys (\"default:BASE64\") and drop key_encryption_key"
        );
        return Ok(KeyEncryptionKeys::parse(&settings.key_encryption_keys)?);
    }
    let file = key_file(settings);
    anyhow::ensure!(
        may_create || settings.key_encryption_key.is_some() || file.exists(),
        "no key-encryption key: neither key_encryption_keys nor key_encryption_key is set, \
         and {} does not exist",
        file.display()
    );
    let bytes = crate::secret_file::secret_32(
        settings.key_encryption_key.as_deref(),
        &file,
        "key-encryption key",
    )?;
    Ok(KeyEncryptionKeys::single(bytes))
}

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
