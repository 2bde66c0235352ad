//! The composition of the use-case services: each holds only what it uses, over the shared
//! [`TrustState`]. Built once at start ([`Services::start`], called by
//! `server::Application::build`), which also starts the loop that follows the database.

use super::keyring::create_key;
use super::redemption_writer::RedemptionWriter;
use super::{
    AuditSink, Catalogues, Counters, Federation, GatewaySettings, Issuance, Keys, Partners,
    Redemptions, TrustState, Verification, now,
};
use crate::store::Store;
use std::sync::Arc;

/// Every use case, each behind its own `Arc`: the api layer hands each gRPC service the ones
/// it calls.
pub struct Services {
    /// The snapshots the verify path reads, and their refresh.
    pub state: Arc<TrustState>,
    /// The storage boundary (pool gauges, and the stop).
    pub store: Arc<dyn Store>,
    /// Request-path audit records.
    pub audit: AuditSink,
    /// Issuing cards and changing their status.
    pub issuance: Arc<Issuance>,
    /// Verdicts and holder proofs.
    pub verification: Arc<Verification>,
    /// Redemptions at counters.
    pub redemptions: Arc<Redemptions>,
    /// Partner gateways: polling, publishing, shared quotas.
    pub federation: Arc<Federation>,
    /// Own signing keys.
    pub keys: Arc<Keys>,
    /// Partners under the agreement.
    pub partners: Arc<Partners>,
    /// Counter tokens.
    pub counters: Arc<Counters>,
    /// The catalogue.
    pub catalogues: Arc<Catalogues>,
}

impl Services {
    /// Loads secrets and state, makes the first signing key if there is none (one replica
    /// wins), and starts the task that follows the change sequence.
    pub async fn start(settings: GatewaySettings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let GatewaySettings {
            issuer: policy,
            own_profile,
            profiles,
            status_list_capacity,
            partners,
            holder,
            federation,
            kek,
            id_hash_secret,
        } = settings;
        if store.signing_keys().await?.is_empty() {
            let t = now();
            if create_key(
                store.as_ref(),
                &kek,
                policy.signing_algorithm,
                1,
                t,
                t,
                "system",
            )
            .await?
            .is_some()
            {
                tracing::info!("created the first signing key");
            }
        }
        super::partners::apply_config(store.as_ref(), &partners, &profiles).await?;
        super::catalogue::ensure_shipped(store.as_ref()).await?;
        let own_profile = profiles
            .get(&own_profile)
            .ok_or_else(|| anyhow::anyhow!("unknown own_profile {own_profile:?}"))?;
        let holder = super::holder_proof::HolderPolicy::new(&holder, &policy.issuer)?;
        let nonce_key = super::challenge_nonce::NonceKey::derive(id_hash_secret.as_slice());
        let state = Arc::new(
            TrustState::load(
                store.clone(),
                kek,
                Arc::new(profiles),
                policy.region.clone(),
                status_list_capacity,
            )
            .await?,
        );
        let audit = AuditSink::start(store.clone());
        let writer = RedemptionWriter::start(store.clone());
        let issuance = Arc::new(Issuance::new(
            state.clone(),
            store.clone(),
            audit.clone(),
            policy.clone(),
            own_profile.clone(),
            id_hash_secret,
        ));
        let verification = Arc::new(Verification::new(
            state.clone(),
            policy.clone(),
            own_profile,
            super::federation::Staleness::new(&federation),
            holder,
            nonce_key,
            store.clone(),
        ));
        let federation_service = Arc::new(Federation::new(
            state.clone(),
            store.clone(),
            audit.clone(),
            policy.clone(),
            verification.clone(),
            writer.clone(),
            &federation,
        ));
        let services = Self {
            redemptions: Arc::new(Redemptions::new(
                state.clone(),
                policy.clone(),
                verification.clone(),
                federation_service.clone(),
                writer,
                audit.clone(),
                store.clone(),
            )),
            keys: Arc::new(Keys::new(
                state.clone(),
                store.clone(),
                policy.clone(),
                issuance.clone(),
                !federation.peers.is_empty(),
                federation.refresh_hint,
            )),
            partners: Arc::new(Partners::new(
                state.clone(),
                store.clone(),
                policy.issuer.clone(),
            )),
            counters: Arc::new(Counters::new(
                state.clone(),
                store.clone(),
                audit.clone(),
                policy.issuer.clone(),
            )),
            catalogues: Arc::new(Catalogues::new(state.clone(), store.clone())),
            federation: federation_service,
            issuance,
            verification,
            audit,
            store,
            state,
        };
        services.follow_the_database(policy.refresh);
        services.federation.start_federation();
        services.federation.start_checkpoints();
        Ok(services)
    }

    /// The loop that reloads what changed in the database (any replica's writes), the JWKS
    /// files of partners, and partner trust data stored by other replicas; it stops when the
    /// state is dropped.
    fn follow_the_database(&self, every: std::time::Duration) {
        let state = Arc::downgrade(&self.state);
        let partners = Arc::downgrade(&self.partners);
        let federation = Arc::downgrade(&self.federation);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut jwks_seen = std::collections::HashMap::new();
            loop {
                tick.tick().await;
                let (Some(state), Some(partners), Some(federation)) =
                    (state.upgrade(), partners.upgrade(), federation.upgrade())
                else {
                    break;
                };
                partners.reload_jwks_files(&mut jwks_seen).await;
                if let Err(e) = state.refresh().await {
                    tracing::warn!(error = %e, "refresh from the database failed; serving from memory");
                }
                if let Err(e) = federation.follow_federation().await {
                    tracing::warn!(error = %e, "following partner trust data failed; serving from memory");
                }
            }
        });
    }
}
