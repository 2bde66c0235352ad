//! Partners under the agreement: applied from the config file at every start, managed through
//! Admin otherwise, keys reloaded when a partner's JWKS file changes.

use super::PartnerDefinition;
use super::{ServiceError, TrustState, now};
use crate::store::{AuditEntry, PartnerRecord, Store};
use crate::trust::{PUBLISHED, PartnerBundle, ProfileSet, TrustRegistry, parse_jwks};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A partner an operator adds through Admin (the gateway fills in the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartner {
    /// Region id.
    pub id: String,
    /// Token profile id.
    pub profile: String,
    /// The partner's `iss`.
    pub issuer: String,
    /// JWKS file, when keys come from one.
    pub jwks_file: Option<String>,
    /// The partner's gateway, when keys come over federation.
    pub federation_endpoint: Option<String>,
    /// Pinned SPIFFE ID.
    pub spiffe_id: Option<String>,
    /// Added suspended.
    pub suspended: bool,
    /// Its JWK Set, when given inline.
    pub jwks_json: Option<String>,
}

impl From<NewPartner> for PartnerRecord {
    fn from(p: NewPartner) -> Self {
        Self {
            id: p.id,
            profile: p.profile,
            issuer: p.issuer,
            jwks_file: p.jwks_file,
            federation_endpoint: p.federation_endpoint,
            spiffe_id: p.spiffe_id,
            source: "admin".into(),
            suspended: p.suspended,
            jwks_json: p.jwks_json,
            bundle_sequence: 0,
            refreshed_at: None,
            updated_at: 0,
        }
    }
}

/// A partner as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerView {
    /// The stored record.
    pub record: PartnerRecord,
    /// Key ids in force.
    pub kids: Vec<String>,
}

fn read_jwks(path: &Path) -> Result<String, ServiceError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ServiceError::FailedPrecondition(format!("cannot read JWKS file {}: {e}", path.display()))
    })?;
    let (keys, refused) = parse_jwks(&text)
        .map_err(|e| ServiceError::invalid("jwks", format!("{}: {e}", path.display())))?;
    for r in &refused {
        tracing::warn!(file = %path.display(), key = %r, "partner key refused");
    }
    if keys.is_empty() {
        return Err(ServiceError::invalid(
            "jwks",
            format!("{}: no usable key", path.display()),
        ));
    }
    Ok(text)
}

fn audit(caller: &str, event: &str, object: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at: now(),
        caller: caller.to_owned(),
        event: event.to_owned(),
        object: object.to_owned(),
        result: "ok".into(),
        detail,
    }
}

/// Writes the config file's partners into the store (keeping suspensions), and removes
/// config partners the file no longer lists.
pub(crate) async fn apply_config(
    store: &dyn Store,
    partners: &[PartnerDefinition],
    profiles: &ProfileSet,
) -> anyhow::Result<()> {
    let stored = store.partners().await?;
    for p in partners {
        anyhow::ensure!(
            p.profile == PUBLISHED || profiles.get(&p.profile).is_some(),
            "partner {}: unknown profile {:?}",
            p.id,
            p.profile
        );
        if let Some(other) = stored.iter().find(|s| s.issuer == p.issuer && s.id != p.id) {
            anyhow::bail!(
                "partner {}: issuer {} belongs to partner {}",
                p.id,
                p.issuer,
                other.id
            );
        }
        let jwks_json = match &p.jwks_file {
            Some(f) => Some(read_jwks(f).map_err(|e| anyhow::anyhow!("partner {}: {e}", p.id))?),
            None => None,
        };
        let t = now();
        let record = PartnerRecord {
            id: p.id.clone(),
            profile: p.profile.clone(),
            issuer: p.issuer.clone(),
            jwks_file: p.jwks_file.as_ref().map(|f| f.display().to_string()),
            federation_endpoint: p.federation_endpoint.clone(),
            spiffe_id: p.spiffe_id.clone(),
            source: "config".into(),
            suspended: false,
            refreshed_at: jwks_json.as_ref().map(|_| t),
            jwks_json,
            bundle_sequence: 0,
            updated_at: t,
        };
        let unchanged = stored.iter().any(|s| {
            s.source == "config"
                && s.profile == record.profile
                && s.issuer == record.issuer
                && s.jwks_file == record.jwks_file
                && s.federation_endpoint == record.federation_endpoint
                && s.spiffe_id == record.spiffe_id
                && (record.jwks_json.is_none() || s.jwks_json == record.jwks_json)
                && s.id == record.id
        });
        if !unchanged {
            store
                .put_partner(
                    &record,
                    &audit(
                        "system",
                        "partner.config",
                        &p.id,
                        format!("issuer {}", p.issuer),
                    ),
                )
                .await?;
        }
    }
    for s in stored.iter().filter(|s| s.source == "config") {
        if !partners.iter().any(|p| p.id == s.id) {
            store
                .remove_partner(
                    &s.id,
                    &audit(
                        "system",
                        "partner.remove",
                        &s.id,
                        "no longer in the config file".into(),
                    ),
                )
                .await?;
        }
    }
    Ok(())
}

/// Builds the registry from stored partners; a partner whose keys do not parse has none.
/// A partner polled over federation takes its keys and status list from its last good
/// bundle.
pub(crate) async fn load_registry(
    store: &dyn Store,
    profiles: &ProfileSet,
) -> Result<TrustRegistry, ServiceError> {
    let mut bundles = Vec::new();
    let federated = store.federation_records().await?;
    let revocations = store.key_revocations().await?;
    for mut p in store.partners().await? {
        // Config partners with an endpoint and no file are the ones polled (Federation
        // refuses to start without their CA); an Admin partner keeps the keys it was given.
        let polled = p.source == "config" && p.jwks_file.is_none();
        let fed = match &p.federation_endpoint {
            Some(_) if polled => Some(
                federated
                    .iter()
                    .find(|f| f.partner_id == p.id)
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => None,
        };
        if let Some(f) = &fed {
            p.jwks_json = f.jwks_json.clone();
        }
        let profile = if p.profile == PUBLISHED {
            // Checked when fetched; checked again here, as the database is not the partner.
            let published = fed.as_ref().and_then(|f| f.profile_toml.as_deref());
            match crate::trust::parse_published(published.unwrap_or_default()) {
                Ok(profile) => Some(std::sync::Arc::new(profile)),
                Err(e) => {
                    tracing::warn!(partner = %p.id, error = %e, "no good published profile yet; partner ignored");
                    None
                }
            }
        } else {
            profiles.get(&p.profile)
        };
        let Some(profile) = profile else {
            if p.profile != PUBLISHED {
                tracing::error!(partner = %p.id, profile = %p.profile, "unknown profile; partner ignored");
            }
            continue;
        };
        let keys = p
            .jwks_json
            .as_deref()
            .and_then(|j| parse_jwks(j).ok())
            .map(|(k, _)| k)
            .unwrap_or_default();
        // Revoked by hand here, or by the partner (its JWK Set says so): never trusted again.
        let revoked: std::collections::HashSet<String> = revocations
            .iter()
            .filter(|r| r.partner_id == p.id)
            .map(|r| r.kid.clone())
            .chain(
                p.jwks_json
                    .as_deref()
                    .map(crate::trust::revoked_in_jwks)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(kid, _, _)| kid),
            )
            .collect();
        let keys: HashMap<String, _> = keys
            .into_iter()
            .filter(|k| !revoked.contains(k.kid()))
            .map(|k| (k.kid().to_owned(), k))
            .collect();
        // Checked when fetched; checked again here, as the database is not the partner.
        let statuses = fed
            .as_ref()
            .and_then(|f| f.status_list_token.as_deref())
            .and_then(|t| {
                super::federation::check_status_list(t, &p.issuer, &keys)
                    .inspect_err(|e| tracing::warn!(partner = %p.id, error = %e, "stored status list refused"))
                    .ok()
            })
            .map(std::sync::Arc::new);
        bundles.push(PartnerBundle {
            id: p.id,
            issuer: p.issuer,
            profile,
            keys,
            suspended: p.suspended,
            federated: fed.is_some(),
            fetched_at_ms: fed.as_ref().and_then(|f| f.fetched_at),
            statuses,
            spiffe_id: p.spiffe_id,
            revoked,
        });
    }
    Ok(TrustRegistry::new(bundles))
}

/// Partners under the agreement: listing, adding, suspending, removing them, their JWKS
/// files and their keys revoked here.
pub struct Partners {
    pub(crate) state: Arc<TrustState>,
    pub(crate) store: Arc<dyn Store>,
    /// The own issuer, which no partner may claim.
    issuer: String,
}

impl Partners {
    pub(crate) fn new(state: Arc<TrustState>, store: Arc<dyn Store>, issuer: String) -> Self {
        Self {
            state,
            store,
            issuer,
        }
    }

    /// Every partner with the kids in force.
    pub async fn partners(&self) -> Result<Vec<PartnerView>, ServiceError> {
        let registry = self.state.registry();
        Ok(self
            .store
            .partners()
            .await?
            .into_iter()
            .map(|record| {
                let mut kids: Vec<String> = registry
                    .partner(&record.issuer)
                    .map(|b| b.keys.keys().cloned().collect())
                    .unwrap_or_default();
                kids.sort();
                PartnerView { record, kids }
            })
            .collect())
    }

    /// Adds (or replaces) a partner defined through Admin.
    pub async fn add_partner(
        &self,
        caller: &str,
        partner: NewPartner,
    ) -> Result<PartnerView, ServiceError> {
        let mut record = PartnerRecord::from(partner);
        for (field, value) in [
            ("partner.id", &record.id),
            ("partner.issuer", &record.issuer),
        ] {
            if value.trim().is_empty() || value.len() > 200 {
                return Err(ServiceError::invalid(
                    field,
                    "is required (at most 200 characters)",
                ));
            }
        }
        if record.profile == PUBLISHED {
            return Err(ServiceError::invalid(
                "partner.profile",
                "\"published\" is for a partner polled over federation: define it in the \
                 config file with its federation_endpoint",
            ));
        }
        if self.state.profiles().get(&record.profile).is_none() {
            return Err(ServiceError::invalid(
                "partner.profile",
                format!("unknown profile {:?}", record.profile),
            ));
        }
        if record.issuer == self.issuer {
            return Err(ServiceError::invalid(
                "partner.issuer",
                "is this gateway's own issuer",
            ));
        }
        let stored = self.store.partners().await?;
        if let Some(s) = stored
            .iter()
            .find(|s| s.id == record.id && s.source == "config")
        {
            return Err(ServiceError::FailedPrecondition(format!(
                "partner {} is defined by the config file; change it there",
                s.id
            )));
        }
        if let Some(s) = stored
            .iter()
            .find(|s| s.issuer == record.issuer && s.id != record.id)
        {
            return Err(ServiceError::AlreadyExists(format!(
                "partner.issuer: {} belongs to partner {}",
                record.issuer, s.id
            )));
        }
        match (&record.jwks_json, &record.jwks_file) {
            (Some(j), _) => {
                let (keys, _) = parse_jwks(j).map_err(|e| ServiceError::invalid("jwks_json", e))?;
                if keys.is_empty() {
                    return Err(ServiceError::invalid("jwks_json", "no usable key"));
                }
            }
            (None, Some(f)) => record.jwks_json = Some(read_jwks(Path::new(f))?),
            (None, None) if record.federation_endpoint.is_some() => {}
            (None, None) => {
                return Err(ServiceError::invalid(
                    "jwks_json",
                    "give jwks_json, a jwks_file or a federation_endpoint",
                ));
            }
        }
        record.source = "admin".into();
        record.updated_at = now();
        record.refreshed_at = record.jwks_json.as_ref().map(|_| record.updated_at);
        let id = record.id.clone();
        self.store
            .put_partner(
                &record,
                &audit(
                    caller,
                    "partner.add",
                    &id,
                    format!("issuer {}", record.issuer),
                ),
            )
            .await?;
        self.state.refresh().await?;
        self.partner_view(&id).await
    }

    /// Suspends or resumes a partner (any partner: an emergency stop under the agreement).
    pub async fn suspend_partner(
        &self,
        caller: &str,
        id: &str,
        suspended: bool,
        reason: &str,
    ) -> Result<PartnerView, ServiceError> {
        let event = if suspended {
            "partner.suspend"
        } else {
            "partner.resume"
        };
        self.store
            .set_partner_suspended(id, suspended, &audit(caller, event, id, reason.to_owned()))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("id: no partner {id:?}")))?;
        self.state.refresh().await?;
        self.partner_view(id).await
    }

    /// Removes a partner defined through Admin.
    pub async fn remove_partner(&self, caller: &str, id: &str) -> Result<(), ServiceError> {
        let stored = self.store.partners().await?;
        match stored.iter().find(|s| s.id == id) {
            None => return Err(ServiceError::NotFound(format!("id: no partner {id:?}"))),
            Some(s) if s.source == "config" => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "partner {id} is defined by the config file; remove it there"
                )));
            }
            Some(_) => {}
        }
        self.store
            .remove_partner(id, &audit(caller, "partner.remove", id, String::new()))
            .await?;
        self.state.refresh().await
    }

    async fn partner_view(&self, id: &str) -> Result<PartnerView, ServiceError> {
        self.partners()
            .await?
            .into_iter()
            .find(|p| p.record.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("id: no partner {id:?}")))
    }

    /// Re-reads partners' JWKS files that changed since last seen; a good new file is stored
    /// (all replicas follow the sequence), a bad one is logged and the last good keys stay.
    pub(crate) async fn reload_jwks_files(
        &self,
        seen: &mut HashMap<String, std::time::SystemTime>,
    ) {
        let Ok(partners) = self.store.partners().await else {
            return;
        };
        for mut p in partners {
            let Some(file) = p.jwks_file.clone() else {
                continue;
            };
            let Ok(modified) = std::fs::metadata(&file).and_then(|m| m.modified()) else {
                continue;
            };
            let first_look = !seen.contains_key(&p.id);
            if seen.insert(p.id.clone(), modified) == Some(modified) {
                continue;
            }
            match read_jwks(Path::new(&file)) {
                Ok(text) if p.jwks_json.as_deref() != Some(text.as_str()) => {
                    let t = now();
                    p.jwks_json = Some(text);
                    p.refreshed_at = Some(t);
                    p.updated_at = t;
                    let a = audit("system", "partner.keys", &p.id, format!("reloaded {file}"));
                    match self.store.put_partner(&p, &a).await {
                        Ok(()) => tracing::info!(partner = %p.id, "partner keys reloaded"),
                        Err(e) => {
                            seen.remove(&p.id);
                            tracing::warn!(partner = %p.id, error = %e, "could not store reloaded keys");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) if !first_look => {
                    tracing::warn!(partner = %p.id, error = %e, "partner JWKS file is bad; keeping the last good keys")
                }
                Err(_) => {}
            }
        }
    }
}
