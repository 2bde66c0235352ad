//! Polling partners: one replica per partner at a time (a lease row), the bundle checked
//! (issuer, a sequence that only grows, keys, the signed status list) and kept in the
//! database, so every replica and every restart verifies from the last good one.

use super::Federation;
use super::{Peer, now_ms};
use crate::locks;
use crate::pb;
use crate::service::ServiceError;
use crate::store::{AuditEntry, FederationRecord};
use crate::trace_context::TraceContext;
use crate::trust::partner_status_list;
use crate::trust::{parse_jwks, revoked_in_jwks};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Why a partner's bundle was not taken. Kept as text in the partner's `last_error`, which
/// also decides whether a repeated failure is logged again.
#[derive(Debug, thiserror::Error)]
enum BundleRefused {
    #[error("{rpc}: {code}: {message}")]
    Call {
        rpc: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error("the bundle's issuer {got:?} is not the agreement's {want:?}")]
    OtherIssuer { got: String, want: String },
    #[error("sequence out of range")]
    SequenceOutOfRange,
    #[error("the bundle's sequence went backwards ({got} after {previous}); refused")]
    SequenceBackwards { got: i64, previous: i64 },
    #[error("jwks: {0}")]
    Jwks(#[from] crate::trust::JwksError),
    #[error("storing the partner's key revocations: {0}")]
    StoringRevocations(ServiceError),
    #[error("reading key revocations: {0}")]
    ReadingRevocations(crate::store::StoreError),
    #[error("the bundle has no usable key")]
    NoUsableKey,
    #[error(transparent)]
    StatusList(#[from] partner_status_list::StatusListError),
    #[error(transparent)]
    Profile(#[from] crate::trust::PublishedProfileError),
}

impl BundleRefused {
    fn call(rpc: &'static str, s: &tonic::Status) -> Self {
        Self::Call {
            rpc,
            code: s.code(),
            message: s.message().to_owned(),
        }
    }
}

/// Shortest and longest wait between polls, whatever a partner hints.
const MIN_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(3600);

impl Federation {
    /// Starts one polling task per federated partner.
    pub(crate) fn start_federation(self: &Arc<Self>) {
        for peer in self.links.peers.values() {
            let weak = Arc::downgrade(self);
            let peer = peer.clone();
            tokio::spawn(async move {
                let mut wait = Duration::ZERO;
                loop {
                    tokio::time::sleep(wait).await;
                    let Some(gw) = weak.upgrade() else { break };
                    // At the hint's rate, not hint plus the poll's own time.
                    let started = tokio::time::Instant::now();
                    // Each poll is a trace of its own: the partner logs its trace id too.
                    let trace = TraceContext::start();
                    let span = tracing::info_span!("poll", partner = %peer.id, trace_id = %trace.trace_id());
                    let hint = trace
                        .scope(gw.poll_partner(&peer))
                        .instrument(span)
                        .await
                        .clamp(MIN_POLL, MAX_POLL);
                    wait = hint.saturating_sub(started.elapsed());
                }
            });
        }
    }

    /// One poll; returns how long to wait for the next (the partner's hint).
    async fn poll_partner(&self, peer: &Peer) -> Duration {
        let fed = &self.links;
        let stored = self
            .store
            .federation_records()
            .await
            .ok()
            .and_then(|rs| rs.into_iter().find(|r| r.partner_id == peer.id));
        let hint = stored
            .as_ref()
            .filter(|r| r.refresh_millis > 0)
            .map_or(fed.hint, |r| Duration::from_millis(r.refresh_millis as u64));
        let t = now_ms();
        // The lease outlives a few polls, so a replica that dies hands over within seconds.
        let lease = (3 * hint.as_millis() as i64).max(2_000);
        match self
            .store
            .claim_federation_lease(&peer.id, &fed.replica, t, t + lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => return hint,
            Err(e) => {
                tracing::warn!(partner = %peer.id, error = %e, "federation lease unavailable");
                return hint;
            }
        }
        let previous = stored.unwrap_or_default();
        match self.fetch_bundle(peer, &previous).await {
            Ok((record, audit)) => {
                let hint = Duration::from_millis(record.refresh_millis as u64);
                match self
                    .store
                    .store_federation_bundle(&record, audit.as_ref())
                    .await
                {
                    Ok(true) => {
                        if !previous.last_error.is_empty() {
                            tracing::info!(partner = %peer.id, sequence = record.sequence, "partner reachable again; trust data current");
                        }
                        if let Err(e) = self.follow_federation().await {
                            tracing::warn!(error = %e, "reloading partner trust data failed");
                        }
                    }
                    Ok(false) => {
                        tracing::info!(partner = %peer.id, "lease lost during the refresh; another replica stores it")
                    }
                    Err(e) => {
                        tracing::warn!(partner = %peer.id, error = %e, "could not store the partner bundle")
                    }
                }
                hint
            }
            Err(e) => {
                let e = e.to_string();
                // Said once per kind of failure, not at every poll while a partner is down.
                if e != previous.last_error {
                    tracing::warn!(partner = %peer.id, endpoint = %peer.endpoint, error = %e, "partner refresh failed; verifying from the last good bundle");
                }
                if let Err(e) = self
                    .store
                    .note_federation_error(&peer.id, &fed.replica, now_ms(), &e)
                    .await
                {
                    tracing::warn!(partner = %peer.id, error = %e, "could not note the refresh failure");
                }
                hint
            }
        }
    }

    /// Fetches and checks a bundle and its status list; the record to store, audited when
    /// the partner's keys changed.
    async fn fetch_bundle(
        &self,
        peer: &Peer,
        previous: &FederationRecord,
    ) -> Result<(FederationRecord, Option<AuditEntry>), BundleRefused> {
        let mut client = peer.client.clone();
        let bundle = client
            .get_trust_bundle(super::client::traced(pb::GetTrustBundleRequest {}))
            .await
            .map_err(|s| BundleRefused::call("GetTrustBundle", &s))?
            .into_inner();
        if bundle.issuer != peer.issuer {
            return Err(BundleRefused::OtherIssuer {
                got: bundle.issuer,
                want: peer.issuer.clone(),
            });
        }
        let sequence =
            i64::try_from(bundle.sequence).map_err(|_| BundleRefused::SequenceOutOfRange)?;
        if sequence < previous.sequence {
            return Err(BundleRefused::SequenceBackwards {
                got: sequence,
                previous: previous.sequence,
            });
        }
        // Checked before anything is stored: a refused profile keeps the last good bundle.
        let profile_toml = if peer.published_profile {
            crate::trust::parse_published(&bundle.profile_toml)?;
            Some(bundle.profile_toml)
        } else {
            None
        };
        let (keys, refused) = parse_jwks(&bundle.jwks_json)?;
        for r in &refused {
            tracing::warn!(partner = %peer.id, key = %r, "partner key refused");
        }
        // The partner's revocations are stored first and for good: a later bundle that
        // lists the kid among its keys again does not bring it back.
        let mut published: Vec<(String, i64, String)> = bundle
            .revoked_keys
            .iter()
            .filter(|r| !r.kid.is_empty() && r.kid.len() <= 128)
            .map(|r| {
                let at = r.revoked_at.as_ref().map_or(0, |t| t.seconds);
                (r.kid.clone(), at, r.reason.clone())
            })
            .collect();
        for r in revoked_in_jwks(&bundle.jwks_json) {
            if !published.iter().any(|p| p.0 == r.0) {
                published.push(r);
            }
        }
        crate::service::key_revocation::note_partner_revocations(
            self.store.as_ref(),
            &peer.id,
            &published,
        )
        .await
        .map_err(BundleRefused::StoringRevocations)?;
        let revoked: BTreeSet<String> = self
            .store
            .key_revocations()
            .await
            .map_err(BundleRefused::ReadingRevocations)?
            .into_iter()
            .filter(|r| r.partner_id == peer.id)
            .map(|r| r.kid)
            .collect();
        let keys: Vec<_> = keys
            .into_iter()
            .filter(|k| !revoked.contains(k.kid()))
            .collect();
        if keys.is_empty() {
            return Err(BundleRefused::NoUsableKey);
        }
        let keys: std::collections::HashMap<_, _> =
            keys.into_iter().map(|k| (k.kid().to_owned(), k)).collect();
        let list = client
            .get_status_list(super::client::traced(pb::GetStatusListRequest {}))
            .await
            .map_err(|s| BundleRefused::call("GetStatusList", &s))?
            .into_inner();
        partner_status_list::verify(
            &list.status_list_token,
            &peer.issuer,
            &keys,
            crate::service::now(),
        )?;
        let kids: BTreeSet<&str> = keys.keys().map(String::as_str).collect();
        let old_kids: BTreeSet<String> = previous
            .jwks_json
            .as_deref()
            .and_then(|j| parse_jwks(j).ok())
            .map(|(k, _)| k.iter().map(|k| k.kid().to_owned()).collect())
            .unwrap_or_default();
        let t = now_ms();
        let audit = (kids
            .iter()
            .map(|k| (*k).to_owned())
            .collect::<BTreeSet<_>>()
            != old_kids)
            .then(|| AuditEntry {
                at: t / 1000,
                caller: "system".into(),
                event: "partner.keys".into(),
                object: peer.id.clone(),
                result: "ok".into(),
                detail: format!(
                    "over federation, sequence {sequence}: kids {}",
                    kids.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            });
        let refresh_millis = if bundle.refresh_millis > 0 {
            bundle.refresh_millis
        } else {
            u64::from(bundle.refresh_seconds) * 1000
        };
        Ok((
            FederationRecord {
                partner_id: peer.id.clone(),
                jwks_json: Some(bundle.jwks_json),
                status_list_token: Some(list.status_list_token),
                sequence,
                catalogue_version: bundle.catalogue_version,
                refresh_millis: refresh_millis.clamp(100, 3_600_000) as i64,
                fetched_at: Some(t),
                last_attempt: t,
                last_error: String::new(),
                lease_owner: self.links.replica.clone(),
                lease_until: 0,
                updated_at: t,
                profile_toml,
            },
            audit,
        ))
    }

    /// Rebuilds the registry when any replica stored new partner trust data (or a failure).
    pub(crate) async fn follow_federation(&self) -> Result<(), ServiceError> {
        if self.links.peers.is_empty() {
            return Ok(());
        }
        let rows = self.store.federation_records().await?;
        let seen: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.partner_id.clone(), r.fetched_at.unwrap_or(0)))
            .collect();
        let changed = *locks::lock(&self.links.seen) != seen;
        if changed {
            self.state.reload_registry().await?;
            *locks::lock(&self.links.seen) = seen;
        }
        Ok(())
    }
}
