//! How federation stands per partner (Federation.GetFederationStatus), and the staleness
//! judgement the verify path makes on data the poller prepared.

use super::Federation;
use super::now_ms;
use crate::service::FederationSettings;
use crate::service::ServiceError;
use crate::trust::{PartnerBundle, parse_jwks};
use std::collections::BTreeMap;

/// One partner's federation as operators and partners see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerFederationStatus {
    /// Partner id.
    pub partner_id: String,
    /// Last good refresh (unix ms), if any.
    pub last_refresh_ms: Option<i64>,
    /// The partner's sequence at that refresh.
    pub sequence: i64,
    /// Age of the trust data in force, in seconds (-1 when there is none).
    pub lag_seconds: i64,
    /// Why the last attempt failed; empty when it succeeded.
    pub last_error: String,
    /// Key ids in the bundle in force (a rotation shows here before the new key signs).
    pub kids: Vec<String>,
    /// True when the data is past the staleness limit: its cards get STALE_TRUST_DATA.
    pub stale: bool,
    /// The partner's catalogue version.
    pub catalogue_version: String,
}

impl Federation {
    /// Every federated partner's refresh state, from the database (all replicas agree). A
    /// partner (`partner` = its SPIFFE ID) sees only how its own data stands here.
    pub async fn federation_status(
        &self,
        partner: Option<&str>,
    ) -> Result<Vec<PartnerFederationStatus>, ServiceError> {
        let rows = self.store.federation_records().await?;
        let t = now_ms();
        let mut out: Vec<PartnerFederationStatus> = self
            .links
            .peers
            .values()
            .filter(|peer| partner.is_none_or(|id| peer.spiffe_id.as_deref() == Some(id)))
            .map(|peer| {
                let r = rows.iter().find(|r| r.partner_id == peer.id);
                let fetched = r.and_then(|r| r.fetched_at);
                let mut kids: Vec<String> = r
                    .and_then(|r| r.jwks_json.as_deref())
                    .and_then(|j| parse_jwks(j).ok())
                    .map(|(k, _)| k.iter().map(|k| k.kid().to_owned()).collect())
                    .unwrap_or_default();
                kids.sort();
                PartnerFederationStatus {
                    partner_id: peer.id.clone(),
                    last_refresh_ms: fetched,
                    sequence: r.map_or(0, |r| r.sequence),
                    lag_seconds: fetched.map_or(-1, |f| (t - f).max(0) / 1000),
                    last_error: r.map(|r| r.last_error.clone()).unwrap_or_default(),
                    kids,
                    stale: fetched.is_none_or(|f| t - f > self.staleness.default_ms),
                    catalogue_version: r.map(|r| r.catalogue_version.clone()).unwrap_or_default(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
        Ok(out)
    }
}

/// How old a partner's trust data may be: by default, and for some host services.
#[derive(Debug, Clone)]
pub(crate) struct Staleness {
    pub(crate) default_ms: i64,
    pub(crate) per_service_ms: BTreeMap<String, i64>,
}

impl Staleness {
    pub(crate) fn new(settings: &FederationSettings) -> Self {
        Self {
            default_ms: settings.staleness_seconds.saturating_mul(1000),
            per_service_ms: settings
                .service_staleness_seconds
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_mul(1000)))
                .collect(),
        }
    }

    /// Why a federated partner's trust data may not be relied on now, if it may not: none
    /// fetched yet, or older than `limit_ms` (the default limit when None).
    pub(crate) fn partner(&self, p: &PartnerBundle, limit_ms: Option<i64>) -> Option<String> {
        let limit = limit_ms.unwrap_or(self.default_ms);
        match p.fetched_at_ms {
            None => Some(format!(
                "no trust bundle has been fetched from partner {} yet",
                p.id
            )),
            Some(at) if now_ms() - at > limit => Some(format!(
                "partner {}'s trust data is {} s old, past the staleness limit of {} s",
                p.id,
                (now_ms() - at) / 1000,
                limit / 1000
            )),
            Some(_) => None,
        }
    }

    /// `partner` under the default limit (the verify path).
    pub(crate) fn of(&self, p: &PartnerBundle) -> Option<String> {
        self.partner(p, None)
    }

    /// Why a federated partner's data is too old for host service `code`, under its own
    /// limit (None when the service has none).
    pub(crate) fn for_service(&self, p: &PartnerBundle, code: &str) -> Option<String> {
        let limit = *self.per_service_ms.get(code)?;
        self.partner(p, Some(limit))
            .map(|d| format!("{d} (limit for {code})"))
    }
}
