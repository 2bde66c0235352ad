//! The offline bundle (Federation.GetOfflineBundle): everything a verdict needs, signed by
//! the current own key, so a verifier with no connection decides as this gateway would.
//! Built from the same snapshots the verify path reads, plus the partners' JWK Sets and
//! status lists as stored (a database read: this is not the verify path).

use super::Federation;
use crate::service::ActiveCatalogue;
use crate::service::{ServiceError, now};
use crate::store::{FederationRecord, KeyRevocationRecord, PartnerRecord};
use crate::trust::{PartnerBundle, TrustRegistry};
use std::sync::Arc;
use talent_verifier::bundle::{BUNDLE_TYPE, BundleClaims, BundleIssuer, BundleRevokedKey};

/// A signed bundle is served again for this long while nothing changed, so `iat` stays
/// fresh and a large status list is not re-signed per call.
const REUSE_SECONDS: i64 = 60;

/// The last bundle signed, and what it was made from.
#[derive(Debug)]
pub(crate) struct SignedBundle {
    sequence: u64,
    /// The registry and catalogue snapshots it was made from (a partner refresh swaps the
    /// registry without moving the sequence). Held, not just their addresses: a freed
    /// snapshot's address can be reused by the next one.
    registry: Arc<TrustRegistry>,
    catalogue: Arc<ActiveCatalogue>,
    /// The own key that signed it (the next key starts signing at its time, not at a change).
    kid: String,
    iat: i64,
    token: Arc<str>,
}

impl Federation {
    /// The offline bundle now: reused while nothing changed for up to a minute, else made
    /// and signed again (one at a time).
    pub async fn offline_bundle(&self) -> Result<Arc<str>, ServiceError> {
        let mut cached = self.offline_bundle.lock().await;
        let t = now();
        let sequence = self.state.sequence();
        let registry = self.state.registry();
        let catalogue = self.state.catalogue();
        let keys = self.state.keyring();
        let signer = keys
            .signer(t)
            .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
        if let Some(b) = cached.as_ref()
            && b.sequence == sequence
            && Arc::ptr_eq(&b.registry, &registry)
            && Arc::ptr_eq(&b.catalogue, &catalogue)
            && b.kid == signer.kid()
            && (0..REUSE_SECONDS).contains(&(t - b.iat))
        {
            return Ok(b.token.clone());
        }
        let claims = self.bundle_claims(t, &registry).await?;
        let token: Arc<str> = signer
            .sign(BUNDLE_TYPE, &claims)
            .map_err(|e| ServiceError::Internal(format!("signing the offline bundle: {e}")))?
            .into();
        *cached = Some(SignedBundle {
            sequence,
            registry,
            catalogue,
            kid: signer.kid().to_owned(),
            iat: t,
            token: token.clone(),
        });
        Ok(token)
    }

    /// The bundle's claims at `t`: own issuer first, then every partner in `registry`.
    async fn bundle_claims(
        &self,
        t: i64,
        registry: &crate::trust::TrustRegistry,
    ) -> Result<BundleClaims, ServiceError> {
        let records = self.store.partners().await?;
        let federated = self.store.federation_records().await?;
        let revocations = self.store.key_revocations().await?;
        let mut issuers = vec![self.own_issuer()?];
        let mut partners: Vec<&Arc<PartnerBundle>> = registry.partners().collect();
        partners.sort_by(|a, b| a.id.cmp(&b.id));
        for p in partners {
            let record = records.iter().find(|r| r.id == p.id);
            let fed = federated.iter().find(|f| f.partner_id == p.id);
            issuers.push(self.partner_issuer(p, record, fed, &revocations)?);
        }
        Ok(BundleClaims {
            iss: self.policy.issuer.clone(),
            region: self.policy.region.clone(),
            iat: t,
            exp: t.saturating_add(self.offline_bundle_seconds),
            clock_skew_seconds: self.policy.clock_skew,
            issuers,
            catalogue: self.catalogue_document().await?,
        })
    }

    /// This gateway as an issuer: its published JWK Set, revoked keys and signed status list.
    fn own_issuer(&self) -> Result<BundleIssuer, ServiceError> {
        let keys = self.state.keyring();
        Ok(BundleIssuer {
            issuer: self.policy.issuer.clone(),
            region: self.policy.region.clone(),
            profile: to_json(self.verification.own_profile())?,
            jwks: keys.jwks(now()),
            revoked: keys
                .revocations()
                .into_iter()
                .map(|r| BundleRevokedKey {
                    kid: r.kid.clone(),
                    revoked_at: r.revoked_at,
                    reason: r.reason.clone(),
                })
                .collect(),
            status_list: Some(self.status_list_token()?),
            suspended: false,
            stale: None,
        })
    }

    /// A partner as the registry holds it, with the JWK Set its keys came from: the last
    /// good one fetched over federation, or the file's or Admin's as stored.
    fn partner_issuer(
        &self,
        p: &PartnerBundle,
        record: Option<&PartnerRecord>,
        fed: Option<&FederationRecord>,
        revocations: &[KeyRevocationRecord],
    ) -> Result<BundleIssuer, ServiceError> {
        let jwks_text = if p.federated {
            fed.and_then(|f| f.jwks_json.as_deref())
        } else {
            record.and_then(|r| r.jwks_json.as_deref())
        };
        let jwks = jwks_text
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({ "keys": [] }));
        // Revoked here by hand, or by the partner itself (its JWK Set says so).
        let mut revoked: Vec<BundleRevokedKey> = revocations
            .iter()
            .filter(|r| r.partner_id == p.id)
            .map(|r| BundleRevokedKey {
                kid: r.kid.clone(),
                revoked_at: r.revoked_at,
                reason: r.reason.clone(),
            })
            .collect();
        for (kid, revoked_at, reason) in jwks_text
            .map(crate::trust::revoked_in_jwks)
            .unwrap_or_default()
        {
            if !revoked.iter().any(|r| r.kid == kid) {
                revoked.push(BundleRevokedKey {
                    kid,
                    revoked_at,
                    reason,
                });
            }
        }
        // Any other kid the registry refuses (none expected): still refused offline.
        let mut others: Vec<&String> = p
            .revoked
            .iter()
            .filter(|k| !revoked.iter().any(|r| &r.kid == *k))
            .collect();
        others.sort();
        revoked.extend(others.into_iter().map(|kid| BundleRevokedKey {
            kid: kid.clone(),
            revoked_at: 0,
            reason: "revoked".into(),
        }));
        Ok(BundleIssuer {
            issuer: p.issuer.clone(),
            region: p.id.clone(),
            profile: to_json(p.profile.as_ref())?,
            jwks,
            revoked,
            status_list: if p.federated {
                fed.and_then(|f| f.status_list_token.clone())
            } else {
                None
            },
            suspended: p.suspended,
            stale: if p.federated {
                self.staleness.of(p)
            } else {
                None
            },
        })
    }

    /// The catalogue document in force, its TOML read as JSON (the same structure).
    async fn catalogue_document(&self) -> Result<serde_json::Value, ServiceError> {
        let version = self.state.catalogue().catalogue.version.clone();
        let t = now();
        let versions = self.store.catalogue_versions().await?;
        let record = versions
            .iter()
            .filter(|v| v.version == version && v.effective_from <= t)
            .max_by_key(|v| v.effective_from)
            .or_else(|| versions.iter().find(|v| v.version == version))
            .ok_or_else(|| {
                ServiceError::Internal(format!("catalogue version {version} is not stored"))
            })?;
        let document: toml::Value = toml::from_str(&record.document).map_err(|e| {
            ServiceError::Internal(format!("stored catalogue {version} is not TOML: {e}"))
        })?;
        to_json(&document)
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.to_string()))
}
