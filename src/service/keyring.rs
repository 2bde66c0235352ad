//! The own keyring as the store keeps it: loaded into [`Keyring`] (trust/keyring.rs), and
//! new keys made and stored.

use super::ServiceError;
use crate::credential::{KeyEncryptionKeys, OwnSigningKey, SigningAlgorithm};
use crate::store::{AuditEntry, KeyRevocationRecord, SigningKeyRecord, Store};
use crate::trust::{Keyring, KeyringError, OwnKey, OwnKeyRevocation};

impl From<KeyringError> for ServiceError {
    fn from(e: KeyringError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<SigningKeyRecord> for OwnKey {
    fn from(r: SigningKeyRecord) -> Self {
        Self {
            kid: r.kid,
            generation: r.generation,
            algorithm: r.algorithm,
            public_key: r.public_key,
            sealed_private_key: r.sealed_private_key,
            published_at: r.published_at,
            signs_from: r.signs_from,
            signed_until: r.signed_until,
        }
    }
}

impl From<KeyRevocationRecord> for OwnKeyRevocation {
    fn from(r: KeyRevocationRecord) -> Self {
        Self {
            kid: r.kid,
            revoked_at: r.revoked_at,
            reason: r.reason,
        }
    }
}

/// The own keys and their revocations from `store`, opened with `kek`.
pub(crate) async fn load(
    store: &dyn Store,
    kek: &KeyEncryptionKeys,
) -> Result<Keyring, ServiceError> {
    let keys = store.signing_keys().await?;
    let revocations = store
        .key_revocations()
        .await?
        .into_iter()
        .filter(|r| r.partner_id.is_empty())
        .map(OwnKeyRevocation::from)
        .collect();
    Ok(Keyring::load(
        keys.into_iter().map(OwnKey::from).collect(),
        revocations,
        kek,
    )?)
}

/// Makes and stores a key of `generation` signing with `algorithm`; false when another
/// replica stored it first.
pub(crate) async fn create_key(
    store: &dyn Store,
    kek: &KeyEncryptionKeys,
    algorithm: SigningAlgorithm,
    generation: i64,
    published_at: i64,
    signs_from: i64,
    caller: &str,
) -> Result<Option<String>, ServiceError> {
    let key = OwnSigningKey::generate(algorithm);
    let record = SigningKeyRecord {
        kid: key.kid().to_owned(),
        generation,
        algorithm: algorithm.as_str().into(),
        public_key: key.public_bytes(),
        sealed_private_key: kek.seal(&key.secret_bytes(), key.kid()),
        published_at,
        signs_from,
        signed_until: 0,
    };
    let audit = AuditEntry {
        at: published_at,
        caller: caller.to_owned(),
        event: "key.create".into(),
        object: key.kid().to_owned(),
        result: "ok".into(),
        detail: format!(
            "generation {generation}, {}, signs from {signs_from}",
            algorithm.as_str()
        ),
    };
    let inserted = store.insert_signing_key(&record, &audit).await?;
    Ok(inserted.then(|| key.kid().to_owned()))
}
