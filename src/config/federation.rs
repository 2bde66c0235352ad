//! Federation with partners that name an endpoint.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How this gateway federates with partners that name a `federation_endpoint`
/// (`[federation]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationSettings {
    /// How often partners should poll us (the bundle's refresh hint).
    pub refresh_hint_millis: u64,
    /// Age of a partner's trust data past which its cards get STALE_TRUST_DATA.
    pub staleness_seconds: i64,
    /// Stricter limits for some services (host service code to seconds), applied when
    /// one is redeemed: e.g. an hour for subsidies, days for scenic spots.
    pub service_staleness_seconds: std::collections::BTreeMap<String, i64>,
    /// Client certificate for calls to partners; defaults to the server certificate.
    pub client_cert: Option<PathBuf>,
    /// Its key; defaults to the server key.
    pub client_key: Option<PathBuf>,
    /// Deadline of one call to a partner.
    pub call_timeout_millis: u64,
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            refresh_hint_millis: 60_000,
            staleness_seconds: 7 * 86_400,
            service_staleness_seconds: Default::default(),
            client_cert: None,
            client_key: None,
            call_timeout_millis: 5_000,
        }
    }
}
