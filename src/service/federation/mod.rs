//! Federation with partner gateways: polling their trust bundles over mutual TLS, keeping the
//! last good one, judging staleness, and reserving shared quotas at a holder's home region.

mod checkpoints;
mod client;
mod offline_bundle;
mod publication;
mod reservation;
mod status;
mod sync;
mod witness;

pub(crate) use reservation::{Presented, period};
pub use reservation::{QuotaReservation, ReserveRequest};
pub use status::PartnerFederationStatus;
pub(crate) use status::Staleness;

use super::redemption_writer::RedemptionWriter;
use super::{AuditSink, FederationSettings, IssuerPolicy, TrustState, Verification};
use crate::pb::federation_client::FederationClient;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tonic::transport::Channel;

/// A partner polled over federation.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) id: String,
    pub(crate) issuer: String,
    pub(crate) endpoint: String,
    /// The identity the agreement pins for it.
    pub(crate) spiffe_id: Option<String>,
    /// Its cards are verified by the profile its bundle publishes.
    pub(crate) published_profile: bool,
    pub(crate) client: FederationClient<Channel>,
}

/// Federation with partner gateways: polling their trust data, publishing ours, reporting
/// how it stands, and the home side of shared quotas.
pub struct Federation {
    state: Arc<TrustState>,
    store: Arc<dyn Store>,
    audit: AuditSink,
    policy: IssuerPolicy,
    verification: Arc<Verification>,
    writer: RedemptionWriter,
    /// Witnessed audit checkpoints, the sending side.
    checkpoints: checkpoints::Checkpointing,
    pub(crate) links: PartnerLinks,
    staleness: Staleness,
    /// The signed status list token, with the sequence and time it was made at.
    status_token: Mutex<Option<(u64, i64, String)>>,
    /// How long an offline bundle is good for, seconds.
    offline_bundle_seconds: i64,
    /// The last offline bundle signed (one is made at a time).
    offline_bundle: tokio::sync::Mutex<Option<offline_bundle::SignedBundle>>,
}

impl Federation {
    pub(crate) fn new(
        state: Arc<TrustState>,
        store: Arc<dyn Store>,
        audit: AuditSink,
        policy: IssuerPolicy,
        verification: Arc<Verification>,
        writer: RedemptionWriter,
        settings: &FederationSettings,
    ) -> Self {
        Self {
            state,
            store,
            audit,
            policy,
            verification,
            writer,
            checkpoints: checkpoints::Checkpointing::new(settings.audit_checkpoint),
            links: PartnerLinks::new(settings),
            staleness: Staleness::new(settings),
            status_token: Mutex::new(None),
            offline_bundle_seconds: settings.offline_bundle_seconds,
            offline_bundle: tokio::sync::Mutex::new(None),
        }
    }
}

/// The partners this gateway polls, and how often it asks to be polled.
#[derive(Debug)]
pub(crate) struct PartnerLinks {
    /// Partners with a federation endpoint, by issuer.
    pub(crate) peers: HashMap<String, Peer>,
    /// This replica, as the holder of refresh leases.
    pub(crate) replica: String,
    pub(crate) hint: Duration,
    /// `(partner, updated_at)` of the federation rows the registry was built from.
    pub(crate) seen: Mutex<Vec<(String, i64)>>,
}

impl PartnerLinks {
    /// A client per partner with a federation endpoint, from the channels made at start.
    pub(crate) fn new(settings: &FederationSettings) -> Self {
        let peers = settings
            .peers
            .iter()
            .map(|p| {
                let peer = Peer {
                    id: p.id.clone(),
                    issuer: p.issuer.clone(),
                    endpoint: p.endpoint.clone(),
                    spiffe_id: p.spiffe_id.clone(),
                    published_profile: p.published_profile,
                    client: p.client(),
                };
                (p.issuer.clone(), peer)
            })
            .collect();
        Self {
            peers,
            replica: uuid::Uuid::new_v4().to_string(),
            hint: settings.refresh_hint,
            seen: Mutex::new(Vec::new()),
        }
    }
}

/// A stored status list, checked against the stored keys (expiry is the staleness limit's
/// business once stored).
pub(crate) fn check_status_list(
    token: &str,
    issuer: &str,
    keys: &HashMap<String, crate::trust::PinnedKey>,
) -> Result<crate::credential::StatusList, crate::trust::partner_status_list::StatusListError> {
    crate::trust::partner_status_list::verify(token, issuer, keys, i64::MIN)
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
