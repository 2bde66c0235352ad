//! Federation with partner gateways: polling their trust bundles over mutual TLS, keeping the
//! last good one, judging staleness, and reserving shared quotas at a holder's home region.

mod client;
mod partner_status_list;
mod reservation;
mod status;
mod sync;

pub(crate) use reservation::{Presented, period};
pub use reservation::{QuotaReservation, ReserveRequest};
pub use status::PartnerFederationStatus;

use crate::config::Settings;
use crate::pb::federation_client::FederationClient;
use std::collections::{BTreeMap, HashMap};
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

/// What this gateway federates with, and how.
#[derive(Debug)]
pub(crate) struct Federation {
    /// Partners with a federation endpoint, by issuer.
    pub(crate) peers: HashMap<String, Peer>,
    /// This replica, as the holder of refresh leases.
    pub(crate) replica: String,
    pub(crate) hint: Duration,
    pub(crate) staleness_ms: i64,
    pub(crate) service_staleness_ms: BTreeMap<String, i64>,
    /// `(partner, updated_at)` of the federation rows the registry was built from.
    pub(crate) seen: Mutex<Vec<(String, i64)>>,
}

impl Federation {
    /// Builds a client per configured partner with a federation endpoint (lazily connected:
    /// a partner that is down at start is polled again later).
    pub(crate) fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut peers = HashMap::new();
        for p in &settings.partners {
            let Some(endpoint) = &p.federation_endpoint else {
                continue;
            };
            let channel = client::channel(settings, p, endpoint)?;
            peers.insert(
                p.issuer.clone(),
                Peer {
                    id: p.id.clone(),
                    issuer: p.issuer.clone(),
                    endpoint: endpoint.clone(),
                    spiffe_id: p.spiffe_id.clone(),
                    published_profile: p.profile == crate::trust::PUBLISHED,
                    client: FederationClient::new(channel),
                },
            );
        }
        let f = &settings.federation;
        Ok(Self {
            peers,
            replica: uuid::Uuid::new_v4().to_string(),
            hint: Duration::from_millis(f.refresh_hint_millis),
            staleness_ms: f.staleness_seconds.saturating_mul(1000),
            service_staleness_ms: f
                .service_staleness_seconds
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_mul(1000)))
                .collect(),
            seen: Mutex::new(Vec::new()),
        })
    }
}

/// A stored status list, checked against the stored keys (expiry is the staleness limit's
/// business once stored).
pub(crate) fn check_status_list(
    token: &str,
    issuer: &str,
    keys: &HashMap<String, crate::trust::PinnedKey>,
) -> Result<crate::credential::StatusList, partner_status_list::StatusListError> {
    partner_status_list::verify(token, issuer, keys, i64::MIN)
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
