//! The gateway's core: configuration it acts on, the store, and the in-memory state of keys
//! and status that the verify path reads.

use super::catalogue::Versions;
use super::keyring::{Keyring, create_key};
use super::status_board::StatusBoard;
use super::{AuditSink, KeyView, ServiceError, now};
use crate::config::Settings;
use crate::credential::{KeyEncryptionKeys, STATUS_BITS, jose};
use crate::domain::{Tier, TokenProfile};
use crate::locks;
use crate::store::{AuditEntry, Store};
use crate::trust::TrustRegistry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a signed status list token is valid, and how long it is cached.
const STATUS_LIST_TTL: i64 = 300;

/// What the issuing side is configured with.
#[derive(Debug, Clone)]
pub(crate) struct IssuerPolicy {
    pub(crate) region: String,
    pub(crate) issuer: String,
    pub(crate) district: String,
    pub(crate) card_prefix: String,
    pub(crate) tiers: Vec<Tier>,
    pub(crate) max_valid_days: u32,
    pub(crate) clock_skew: i64,
    pub(crate) prepublish: i64,
    pub(crate) status_list_uri: String,
    pub(crate) refresh: Duration,
}

/// The core every gRPC service calls into.
pub struct Gateway {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: IssuerPolicy,
    pub(crate) audit: AuditSink,
    pub(crate) redemptions: super::redemption_writer::RedemptionWriter,
    kek: KeyEncryptionKeys,
    id_secret: Zeroizing<[u8; 32]>,
    pub(crate) nonce_key: super::challenge_nonce::NonceKey,
    pub(crate) counter_tokens: super::counter_tokens::CounterTokens,
    keys: RwLock<Arc<Keyring>>,
    pub(crate) status: RwLock<StatusBoard>,
    registry: RwLock<Arc<TrustRegistry>>,
    pub(crate) catalogues: RwLock<Arc<Versions>>,
    pub(crate) own_profile: Arc<TokenProfile>,
    /// Shipped and `profiles_dir` profiles, by id.
    pub(crate) profiles: Arc<crate::trust::ProfileSet>,
    pub(crate) holder: super::holder_proof::HolderPolicy,
    pub(crate) federation: super::federation::Federation,
    /// Verdicts by reason, for metrics.
    pub(crate) verdicts: super::metrics::VerdictCounts,
    capacity: usize,
    sequence: AtomicU64,
    status_token: Mutex<Option<(u64, i64, String)>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl Gateway {
    /// Loads secrets and state, makes the first signing key if there is none (one replica
    /// wins), and starts the task that follows the change sequence.
    pub async fn start(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Arc<Self>> {
        let secrets = settings.data_dir.join("secrets");
        let kek = super::key_encryption::load_keys(settings, true)?;
        let id_secret = Zeroizing::new(crate::secret_file::secret_32(
            settings.id_hash_secret.as_deref(),
            &secrets.join("id-hash.key"),
            "ID number hash secret",
        )?);
        if store.signing_keys().await?.is_empty() {
            let t = now();
            if create_key(store.as_ref(), &kek, 1, t, t, "system")
                .await?
                .is_some()
            {
                tracing::info!("created the first signing key");
            }
        }
        let profiles = Arc::new(
            crate::trust::ProfileSet::load(settings.profiles_dir.as_deref())
                .map_err(|p| anyhow::anyhow!("token profiles refused:\n  {}", p.join("\n  ")))?,
        );
        super::partners::apply_config(store.as_ref(), &settings.partners, &profiles).await?;
        super::catalogue::ensure_shipped(store.as_ref()).await?;
        let registry = super::partners::load_registry(store.as_ref(), &profiles).await?;
        let catalogues = super::catalogue::load(store.as_ref(), &settings.region).await?;
        let own_profile = profiles
            .get(&settings.own_profile)
            .ok_or_else(|| anyhow::anyhow!("unknown own_profile {:?}", settings.own_profile))?;
        let federation = super::federation::Federation::from_settings(settings)?;
        let keys = Keyring::load(
            store.signing_keys().await?,
            store.key_revocations().await?,
            &kek,
        )?;
        // A key of its own, sealed in the database; the one derived from the key-encryption
        // key that seals (the only one versions before the keyring had) still verifies what
        // earlier versions issued.
        let counter_tokens = super::counter_tokens::CounterTokens::load(
            store.as_ref(),
            &kek,
            Some(kek.sealing_key().secret_bytes()),
        )
        .await?;
        let statuses = store.card_statuses().await?;
        let sequence = store.sequence().await?;
        let policy = IssuerPolicy {
            region: settings.region.clone(),
            issuer: settings.issuer.clone(),
            district: settings.district.clone(),
            card_prefix: settings.card_prefix.clone(),
            tiers: settings
                .tiers
                .iter()
                .filter_map(|t| t.parse().ok())
                .collect(),
            max_valid_days: settings.max_valid_days,
            clock_skew: settings.clock_skew_seconds,
            prepublish: settings.key_prepublish_seconds,
            status_list_uri: format!("{}:status-list:1", settings.issuer),
            refresh: Duration::from_millis(settings.refresh_millis.max(50)),
        };
        let gw = Arc::new(Self {
            audit: AuditSink::start(store.clone()),
            redemptions: super::redemption_writer::RedemptionWriter::start(store.clone()),
            store,
            policy,
            kek,
            nonce_key: super::challenge_nonce::NonceKey::derive(id_secret.as_slice()),
            id_secret,
            counter_tokens,
            keys: RwLock::new(Arc::new(keys)),
            status: RwLock::new(StatusBoard::load(settings.status_list_capacity, &statuses)),
            registry: RwLock::new(Arc::new(registry)),
            catalogues: RwLock::new(Arc::new(catalogues)),
            own_profile,
            profiles,
            holder: super::holder_proof::HolderPolicy::new(
                &settings.holder_proof,
                &settings.issuer,
            )?,
            federation,
            verdicts: Default::default(),
            capacity: settings.status_list_capacity,
            sequence: AtomicU64::new(sequence),
            status_token: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        });
        let weak = Arc::downgrade(&gw);
        let every = gw.policy.refresh;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut jwks_seen = std::collections::HashMap::new();
            loop {
                tick.tick().await;
                let Some(gw) = weak.upgrade() else { break };
                gw.reload_jwks_files(&mut jwks_seen).await;
                if let Err(e) = gw.refresh().await {
                    tracing::warn!(error = %e, "refresh from the database failed; serving from memory");
                }
                if let Err(e) = gw.follow_federation().await {
                    tracing::warn!(error = %e, "following partner trust data failed; serving from memory");
                }
            }
        });
        gw.start_federation();
        Ok(gw)
    }

    /// Reloads keys and statuses when the change sequence moved (another replica, or us).
    pub async fn refresh(&self) -> Result<(), ServiceError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let seq = self.store.sequence().await?;
        if seq == self.sequence.load(Ordering::Acquire) {
            return Ok(());
        }
        let keys = Keyring::load(
            self.store.signing_keys().await?,
            self.store.key_revocations().await?,
            &self.kek,
        )?;
        let rows = self.store.card_statuses().await?;
        let board = StatusBoard::load(self.capacity, &rows);
        let registry = super::partners::load_registry(self.store.as_ref(), &self.profiles).await?;
        let catalogues = super::catalogue::load(self.store.as_ref(), &self.policy.region).await?;
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

    pub(crate) fn keyring(&self) -> Arc<Keyring> {
        locks::read(&self.keys).clone()
    }

    pub(crate) fn registry(&self) -> Arc<TrustRegistry> {
        locks::read(&self.registry).clone()
    }

    pub(crate) fn id_hash(&self, id: &crate::domain::IdNumber) -> Vec<u8> {
        use hmac::{Mac, SimpleHmac};
        let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(self.id_secret.as_slice())
            .expect("HMAC takes any key length");
        mac.update(id.expose().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The change sequence this replica has seen.
    pub fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::Acquire)
    }

    /// The region this gateway serves.
    pub fn region(&self) -> &str {
        &self.policy.region
    }

    /// The issuer of own cards.
    pub fn issuer(&self) -> &str {
        &self.policy.issuer
    }

    /// The own JWK Set (RFC 7517) as published now.
    pub fn jwks_json(&self) -> String {
        self.keyring().jwks(now()).to_string()
    }

    /// The URI own tokens point to for their status.
    pub fn status_list_uri(&self) -> &str {
        &self.policy.status_list_uri
    }

    /// How often partners should poll, in seconds (at least one).
    pub fn refresh_hint_seconds(&self) -> u32 {
        self.federation.hint.as_secs().max(1) as u32
    }

    /// How often partners should poll, in milliseconds.
    pub fn refresh_hint_millis(&self) -> u64 {
        self.federation.hint.as_millis() as u64
    }

    /// The signed status list token (typ statuslist+jwt), cached per sequence for a while.
    pub fn status_list_token(&self) -> Result<String, ServiceError> {
        let t = now();
        let seq = self.sequence();
        let mut cached = locks::lock(&self.status_token);
        if let Some((s, iat, token)) = cached.as_ref()
            && *s == seq
            && t - iat < STATUS_LIST_TTL / 2
        {
            return Ok(token.clone());
        }
        let keys = self.keyring();
        let signer = keys
            .signer(t)
            .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
        let lst = locks::read(&self.status).list().encode();
        let claims = serde_json::json!({
            "sub": self.policy.status_list_uri,
            "iss": self.policy.issuer,
            "iat": t,
            "exp": t + STATUS_LIST_TTL,
            "ttl": STATUS_LIST_TTL,
            "status_list": { "bits": STATUS_BITS, "lst": lst },
        });
        let header = jose::header(
            jsonwebtoken::Algorithm::EdDSA,
            "statuslist+jwt",
            Some(signer.kid()),
        );
        let token = jose::sign(&header, &claims, signer.encoding_key())
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        *cached = Some((seq, t, token.clone()));
        Ok(token)
    }

    /// Every signing key with its state now.
    pub fn keys(&self) -> Vec<KeyView> {
        self.keyring().views(now())
    }

    /// Makes the next key: published now, signing after the pre-publication period.
    pub async fn rotate_keys(
        &self,
        caller: &str,
        prepublish: Option<i64>,
    ) -> Result<KeyView, ServiceError> {
        let t = now();
        let mut wait = prepublish.unwrap_or(self.policy.prepublish).max(0);
        // Partners must see a new key before it signs: three of their polls at least.
        if !self.federation.peers.is_empty() {
            let polls = (3 * self.federation.hint.as_millis() as u64).div_ceil(1000) as i64;
            wait = wait.max(polls);
        }
        let keys = self.keyring();
        if keys
            .views(t)
            .iter()
            .any(|k| k.state == super::KeyState::Next)
        {
            return Err(ServiceError::FailedPrecondition(
                "a next key is already published and waiting to sign; rotate again after it takes over"
                    .into(),
            ));
        }
        let generation = keys.last_generation() + 1;
        let kid = create_key(
            self.store.as_ref(),
            &self.kek,
            generation,
            t,
            t + wait,
            caller,
        )
        .await?
        .ok_or_else(|| {
            ServiceError::AlreadyExists("another replica rotated at the same moment".into())
        })?;
        self.refresh().await?;
        self.keys()
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| ServiceError::Internal("new key not loaded".into()))
    }

    /// Makes a key that signs at once (the emergency after a revocation, when no next key
    /// is waiting); its kid.
    pub(crate) async fn create_key_now(&self, caller: &str) -> Result<String, ServiceError> {
        let t = now();
        let generation = self.keyring().last_generation() + 1;
        create_key(self.store.as_ref(), &self.kek, generation, t, t, caller)
            .await?
            .ok_or_else(|| {
                ServiceError::Unavailable(
                    "another replica made a key at the same moment; try again".into(),
                )
            })
    }

    /// Queues an audit record for something that changed nothing (a refusal, a verdict).
    pub fn audit(&self, caller: &str, event: &str, object: &str, result: &str, detail: &str) {
        self.audit.record(AuditEntry {
            at: now(),
            caller: caller.to_owned(),
            event: event.to_owned(),
            object: object.to_owned(),
            result: result.to_owned(),
            detail: detail.to_owned(),
        });
    }
}
