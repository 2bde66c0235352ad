//! Partners under the agreement, each with its profile and keys, looked up by issuer.

use super::PinnedKey;
use crate::domain::TokenProfile;
use std::collections::HashMap;
use std::sync::Arc;

/// One partner's trust bundle.
#[derive(Debug, Clone)]
pub struct PartnerBundle {
    /// Partner (region) id.
    pub id: String,
    /// The partner's `iss`.
    pub issuer: String,
    /// How its tokens are shaped.
    pub profile: Arc<TokenProfile>,
    /// Keys by kid.
    pub keys: HashMap<String, PinnedKey>,
    /// Suspended under the agreement: its cards are refused.
    pub suspended: bool,
    /// Keys and status come over federation (not from a file), so they can go stale.
    pub federated: bool,
    /// When the bundle in force was fetched (unix ms); None before the first good refresh.
    pub fetched_at_ms: Option<i64>,
    /// The partner's status list, checked with its keys; None when it publishes none.
    pub statuses: Option<Arc<crate::credential::StatusList>>,
    /// The SPIFFE ID the agreement pins for the partner's gateway, when one is configured.
    pub spiffe_id: Option<String>,
    /// Revoked kids (by hand here, or as the partner published): `KEY_REVOKED`, never
    /// looked up in `keys` (which holds none of them).
    pub revoked: std::collections::HashSet<String>,
}

/// All partners, by issuer. Rebuilt whole on change, read without locks held across calls.
#[derive(Debug, Clone, Default)]
pub struct TrustRegistry {
    by_issuer: HashMap<String, Arc<PartnerBundle>>,
}

impl TrustRegistry {
    /// A registry of these bundles.
    pub fn new(bundles: impl IntoIterator<Item = PartnerBundle>) -> Self {
        Self {
            by_issuer: bundles
                .into_iter()
                .map(|b| (b.issuer.clone(), Arc::new(b)))
                .collect(),
        }
    }

    /// Every partner.
    pub fn partners(&self) -> impl Iterator<Item = &Arc<PartnerBundle>> {
        self.by_issuer.values()
    }

    /// The partner whose cards carry `issuer`.
    #[inline]
    pub fn partner(&self, issuer: &str) -> Option<&Arc<PartnerBundle>> {
        self.by_issuer.get(issuer)
    }
}
