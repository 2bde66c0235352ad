//! Catalogue versions: the shipped document on first start, imports as new versions with a
//! start time, and what each holder gets here, precomputed per version for the verify path.

use super::{ServiceError, TrustState, now};
use crate::domain::{Catalogue, Region, Tier};
use crate::store::{AuditEntry, CatalogueVersionRecord, Store};
use std::sync::Arc;
use talent_verifier::recognition::recognition;
pub use talent_verifier::recognition::{ActiveCatalogue, EntitlementView, Recognition};

/// The catalogue shipped with the gateway (catalogue/catalogue.toml).
pub(crate) const SHIPPED_CATALOGUE: &str = include_str!("../../catalogue/catalogue.toml");

/// Catalogue versions with their start times, oldest start first; never empty.
pub(crate) type Versions = Vec<(i64, Arc<ActiveCatalogue>)>;

/// Every stored version, parsed, oldest start first. A version that no longer parses is
/// logged and skipped (it was valid when imported).
/// Never returns an empty list.
pub(crate) async fn load(store: &dyn Store, host: &str) -> Result<Versions, ServiceError> {
    let mut out = Vec::new();
    for v in store.catalogue_versions().await? {
        match Catalogue::parse(&v.document) {
            Ok(c) => out.push((v.effective_from, Arc::new(ActiveCatalogue::build(c, host)))),
            Err(p) => {
                tracing::error!(version = %v.version, problems = ?p, "stored catalogue no longer parses")
            }
        }
    }
    if out.is_empty() {
        return Err(ServiceError::Internal("no usable catalogue version".into()));
    }
    Ok(out)
}

/// Stores the shipped catalogue when the database has none (first start).
pub(crate) async fn ensure_shipped(store: &dyn Store) -> Result<(), ServiceError> {
    if !store.catalogue_versions().await?.is_empty() {
        return Ok(());
    }
    let c = Catalogue::parse(SHIPPED_CATALOGUE)
        .map_err(|p| ServiceError::Internal(format!("the shipped catalogue is invalid: {p:?}")))?;
    let t = now();
    let record = CatalogueVersionRecord {
        version: c.version.clone(),
        document: SHIPPED_CATALOGUE.to_owned(),
        effective_from: 0,
        imported_at: t,
    };
    let audit = AuditEntry {
        at: t,
        caller: "system".into(),
        event: "catalogue.import".into(),
        object: c.version,
        result: "ok".into(),
        detail: "shipped catalogue, first start".into(),
    };
    store.insert_catalogue_version(&record, &audit).await?;
    Ok(())
}

/// This region's part of a catalogue version (a trait: `ActiveCatalogue` is the verifier
/// crate's, the error is the service's).
pub(crate) trait OwnRegion {
    /// This region's part of `active`.
    fn own_region<'a>(&'a self, region: &str) -> Result<&'a Region, ServiceError>;
}

impl OwnRegion for ActiveCatalogue {
    fn own_region<'a>(&'a self, region: &str) -> Result<&'a Region, ServiceError> {
        self.catalogue
            .region(region)
            .ok_or_else(|| ServiceError::Internal("own region missing from the catalogue".into()))
    }
}

/// The catalogue as operators import it and partners ask what it maps.
pub struct Catalogues {
    state: Arc<TrustState>,
    store: Arc<dyn Store>,
}

impl Catalogues {
    pub(crate) fn new(state: Arc<TrustState>, store: Arc<dyn Store>) -> Self {
        Self { state, store }
    }

    /// The catalogue version in force now.
    pub fn active(&self) -> Arc<ActiveCatalogue> {
        self.state.catalogue()
    }

    /// What a holder of `from_region` and `tier` gets in `to_region`, with reasons.
    pub fn map_entitlements(
        &self,
        from_region: &str,
        tier: &str,
        to_region: &str,
    ) -> Result<Recognition, ServiceError> {
        let active = self.state.catalogue();
        let c = &active.catalogue;
        let from = c.region(from_region).ok_or_else(|| {
            ServiceError::invalid("from_region", format!("unknown region {from_region:?}"))
        })?;
        c.region(to_region).ok_or_else(|| {
            ServiceError::invalid("to_region", format!("unknown region {to_region:?}"))
        })?;
        let tier: Tier = tier.parse().map_err(|e| ServiceError::invalid("tier", e))?;
        if !from.tiers.contains(&tier) {
            return Err(ServiceError::invalid(
                "tier",
                format!("{tier} is not a tier of {from_region}"),
            ));
        }
        recognition(c, from_region, tier, to_region).ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "no recognition of {from_region} cards in {to_region} is agreed"
            ))
        })
    }

    /// Imports a catalogue document as a new version, in force from `effective_from` (now
    /// when None). Validated whole first: a bad document changes nothing and every problem
    /// is listed.
    pub async fn import_catalogue(
        &self,
        caller: &str,
        document: &str,
        effective_from: Option<i64>,
    ) -> Result<String, ServiceError> {
        let c = Catalogue::parse(document)
            .map_err(|problems| ServiceError::invalid("catalogue", problems.join("; ")))?;
        let mismatched = c.quota_mismatches();
        if !mismatched.is_empty() {
            return Err(ServiceError::invalid("catalogue", mismatched.join("; ")));
        }
        let t = now();
        let record = CatalogueVersionRecord {
            version: c.version.clone(),
            document: document.to_owned(),
            effective_from: effective_from.unwrap_or(t),
            imported_at: t,
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "catalogue.import".into(),
            object: c.version.clone(),
            result: "ok".into(),
            detail: format!("effective from {}", record.effective_from),
        };
        if !self.store.insert_catalogue_version(&record, &audit).await? {
            return Err(ServiceError::AlreadyExists(format!(
                "catalogue: version {} exists; give the new document a new version",
                c.version
            )));
        }
        self.state.refresh().await?;
        Ok(c.version)
    }
}
