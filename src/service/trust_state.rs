//! What the verify path reads, shared by every service: the own keyring and status board,
//! the partner registry, the catalogue versions, revoked counter tokens, and the change
//! sequence they were loaded at. One refresh reloads them all when the sequence moved.

use super::catalogue::{ActiveCatalogue, Versions};
use super::counter_tokens::CounterTokens;

use super::{ServiceError, now};
use crate::credential::KeyEncryptionKeys;
use crate::locks;
use crate::store::Store;
use crate::trust::{Keyring, ProfileSet, StatusBoard, TrustRegistry};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The snapshots, each swapped whole behind its lock.
pub struct TrustState {
    store: Arc<dyn Store>,
    kek: KeyEncryptionKeys,
    /// Shipped and `profiles_dir` profiles, by id.
    profiles: Arc<ProfileSet>,
    region: String,
    capacity: usize,
    keys: RwLock<Arc<Keyring>>,
    status: RwLock<StatusBoard>,
    registry: RwLock<Arc<TrustRegistry>>,
    catalogues: RwLock<Arc<Versions>>,
    pub(crate) counter_tokens: CounterTokens,
    sequence: AtomicU64,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl TrustState {
    /// Loads everything from `store` (keys opened with `kek`) for `region`'s catalogue.
    pub(crate) async fn load(
        store: Arc<dyn Store>,
        kek: KeyEncryptionKeys,
        profiles: Arc<ProfileSet>,
        region: String,
        capacity: usize,
    ) -> anyhow::Result<Self> {
        let registry = super::partners::load_registry(store.as_ref(), &profiles).await?;
        let catalogues = super::catalogue::load(store.as_ref(), &region).await?;
        let keys = super::keyring::load(store.as_ref(), &kek).await?;
        // A key of its own, sealed in the database; the one derived from the key-encryption
        // key that seals (the only one versions before the keyring had) still verifies what
        // earlier versions issued.
        let counter_tokens =
            CounterTokens::load(store.as_ref(), &kek, Some(kek.sealing_key().secret_bytes()))
                .await?;
        let statuses = store.card_statuses().await?;
        let sequence = store.sequence().await?;
        Ok(Self {
            status: RwLock::new(StatusBoard::load(capacity, &statuses)),
            keys: RwLock::new(Arc::new(keys)),
            registry: RwLock::new(Arc::new(registry)),
            catalogues: RwLock::new(Arc::new(catalogues)),
            counter_tokens,
            sequence: AtomicU64::new(sequence),
            refresh_lock: tokio::sync::Mutex::new(()),
            store,
            kek,
            profiles,
            region,
            capacity,
        })
    }

    /// Reloads keys and statuses when the change sequence moved (another replica, or us).
    pub async fn refresh(&self) -> Result<(), ServiceError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let seq = self.store.sequence().await?;
        if seq == self.sequence.load(Ordering::Acquire) {
            return Ok(());
        }
        let keys = super::keyring::load(self.store.as_ref(), &self.kek).await?;
        let rows = self.store.card_statuses().await?;
        let board = StatusBoard::load(self.capacity, &rows);
        let registry = super::partners::load_registry(self.store.as_ref(), &self.profiles).await?;
        let catalogues = super::catalogue::load(self.store.as_ref(), &self.region).await?;
        self.counter_tokens
            .reload_revoked(self.store.as_ref())
            .await?;
        *locks::write(&self.registry) = Arc::new(registry);
        *locks::write(&self.catalogues) = Arc::new(catalogues);
        *locks::write(&self.keys) = Arc::new(keys);
        *locks::write(&self.status) = board;
        self.sequence.store(seq, Ordering::Release);
        Ok(())
    }

    /// Rebuilds the partner registry from the database (partners and their stored bundles).
    pub(crate) async fn reload_registry(&self) -> Result<(), ServiceError> {
        let registry = super::partners::load_registry(self.store.as_ref(), &self.profiles).await?;
        *locks::write(&self.registry) = Arc::new(registry);
        Ok(())
    }

    /// Shipped and `profiles_dir` profiles, by id.
    pub(crate) fn profiles(&self) -> &ProfileSet {
        &self.profiles
    }

    /// The own keyring now.
    pub(crate) fn keyring(&self) -> Arc<Keyring> {
        locks::read(&self.keys).clone()
    }

    /// The partner registry now.
    pub(crate) fn registry(&self) -> Arc<TrustRegistry> {
        locks::read(&self.registry).clone()
    }

    /// The own status board, read under its lock.
    pub(crate) fn status(&self) -> std::sync::RwLockReadGuard<'_, StatusBoard> {
        locks::read(&self.status)
    }

    /// The own status board, written under its lock (a local change before the refresh).
    pub(crate) fn status_mut(&self) -> std::sync::RwLockWriteGuard<'_, StatusBoard> {
        locks::write(&self.status)
    }

    /// The key-encryption keys (new signing keys are sealed under the first).
    pub(crate) fn kek(&self) -> &KeyEncryptionKeys {
        &self.kek
    }

    /// The change sequence this replica has seen.
    pub fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::Acquire)
    }

    /// The catalogue version in force now.
    pub fn catalogue(&self) -> Arc<ActiveCatalogue> {
        let t = now();
        let all = locks::read(&self.catalogues).clone();
        // Never empty: start-up refuses to serve without a catalogue.
        all.iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .unwrap_or(&all[0])
            .1
            .clone()
    }
}
