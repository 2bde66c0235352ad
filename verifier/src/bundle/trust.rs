//! A bundle's content as the decision sequence reads it: the second implementation of
//! [`Trust`], beside the gateway's snapshot.

use super::keys::IssuerKeys;
use super::{BundleClaims, BundleError, BundleIssuer};
use crate::credential::StatusList;
use crate::domain::{CardStatus, Catalogue, TokenProfile};
use crate::recognition::ActiveCatalogue;
use crate::trust::{PartnerBundle, PinnedKey, partner_status_list};
use crate::verification::Trust;
use std::collections::HashMap;
use std::sync::Arc;

/// What a verdict from a bundle reads, decoded once at open.
pub(super) struct BundleTrust {
    own_issuer: String,
    own_region: String,
    own_profile: TokenProfile,
    clock_skew: i64,
    own: IssuerKeys,
    own_statuses: StatusList,
    partners: HashMap<String, PartnerBundle>,
    /// A stale partner's detail, by issuer.
    stale: HashMap<String, String>,
    catalogue: ActiveCatalogue,
}

impl BundleTrust {
    /// Reads every entry: profiles, keys, status lists (each checked under its issuer's own
    /// keys, decoded once) and the catalogue. `own` is the signer's entry.
    pub(super) fn read(claims: &BundleClaims, own: &BundleIssuer) -> Result<Self, BundleError> {
        let own_keys = IssuerKeys::of(own)?;
        let own_statuses = match &own.status_list {
            Some(token) => status_list(own, token, &own_keys)?,
            None => {
                return Err(BundleError::StatusList {
                    issuer: own.issuer.clone(),
                    why: "the signer's own entry has no status list".into(),
                });
            }
        };
        let mut partners = HashMap::new();
        let mut stale = HashMap::new();
        for entry in claims.issuers.iter().filter(|e| e.issuer != claims.iss) {
            let keys = IssuerKeys::of(entry)?;
            let statuses = match &entry.status_list {
                Some(token) => Some(Arc::new(status_list(entry, token, &keys)?)),
                None => None,
            };
            if let Some(detail) = &entry.stale {
                stale.insert(entry.issuer.clone(), detail.clone());
            }
            let bundle = PartnerBundle {
                id: entry.region.clone(),
                issuer: entry.issuer.clone(),
                profile: Arc::new(profile(entry)?),
                keys: keys.keys,
                suspended: entry.suspended,
                federated: entry.stale.is_some(),
                fetched_at_ms: None,
                statuses,
                spiffe_id: None,
                revoked: keys.revoked,
            };
            if partners.insert(entry.issuer.clone(), bundle).is_some() {
                return Err(BundleError::malformed(format!(
                    "issuer {} is listed twice",
                    entry.issuer
                )));
            }
        }
        let catalogue = Catalogue::from_json(&claims.catalogue)
            .map_err(|problems| BundleError::Catalogue(problems.join("; ")))?;
        if catalogue.region(&claims.region).is_none() {
            return Err(BundleError::Catalogue(format!(
                "region {:?} is not in the catalogue",
                claims.region
            )));
        }
        Ok(Self {
            own_issuer: claims.iss.clone(),
            own_region: claims.region.clone(),
            own_profile: profile(own)?,
            clock_skew: claims.clock_skew_seconds,
            own: own_keys,
            own_statuses,
            partners,
            stale,
            catalogue: ActiveCatalogue::build(catalogue, &claims.region),
        })
    }
}

/// An entry's profile, checked as a `profiles_dir` file is.
fn profile(entry: &BundleIssuer) -> Result<TokenProfile, BundleError> {
    let profile: TokenProfile = serde_json::from_value(entry.profile.clone())
        .map_err(|e| BundleError::issuer(&entry.issuer, format!("profile: {e}")))?;
    let problems = profile.problems();
    if problems.is_empty() {
        Ok(profile)
    } else {
        Err(BundleError::issuer(
            &entry.issuer,
            format!("profile: {}", problems.join("; ")),
        ))
    }
}

/// An issuer's status list, verified under its own keys (the bundle's `exp` is what bounds
/// its age, not the list's own).
fn status_list(
    entry: &BundleIssuer,
    token: &str,
    keys: &IssuerKeys,
) -> Result<StatusList, BundleError> {
    partner_status_list::verify(token, &entry.issuer, &keys.keys, i64::MIN).map_err(|e| {
        BundleError::StatusList {
            issuer: entry.issuer.clone(),
            why: e.to_string(),
        }
    })
}

impl Trust for BundleTrust {
    fn own_issuer(&self) -> &str {
        &self.own_issuer
    }
    fn own_region(&self) -> &str {
        &self.own_region
    }
    fn own_profile(&self) -> &TokenProfile {
        &self.own_profile
    }
    fn clock_skew(&self) -> i64 {
        self.clock_skew
    }
    fn own_key(&self, kid: &str) -> Option<&PinnedKey> {
        self.own.keys.get(kid)
    }
    fn own_key_revoked(&self, kid: &str) -> bool {
        self.own.revoked.contains(kid)
    }
    fn own_status(&self, idx: u64) -> CardStatus {
        // As the gateway's status board: an index past the list is no card it issued.
        match usize::try_from(idx) {
            Ok(i) if i < self.own_statuses.capacity() => {
                CardStatus::from_list_value(self.own_statuses.get(i))
            }
            _ => CardStatus::Revoked,
        }
    }
    fn partner(&self, issuer: &str) -> Option<&PartnerBundle> {
        self.partners.get(issuer)
    }
    fn staleness(&self, partner: &PartnerBundle) -> Option<String> {
        self.stale.get(&partner.issuer).cloned()
    }
    fn catalogue(&self) -> &ActiveCatalogue {
        &self.catalogue
    }
}
