//! The sender side of audit checkpoints: every `audit_checkpoint_seconds`, when the audit
//! chain's head moved, a signed checkpoint of it is kept and sent to each federated partner,
//! whose countersignature is checked and kept beside it. A partner that cannot be reached is
//! asked again at the next round; nothing waits for it.

use super::{Federation, Peer};
use crate::locks;
use crate::pb;
use crate::service::audit_checkpoint::{
    self, CHECKPOINT_TYPE, COUNTERSIGNATURE_TYPE, CheckpointClaims, CountersignatureClaims,
};
use crate::service::{ServiceError, now};
use crate::store::OwnCheckpointRecord;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often checkpoints are made, and what each partner last failed with (said once).
#[derive(Debug, Default)]
pub(crate) struct Checkpointing {
    every: Option<Duration>,
    failures: Mutex<HashMap<String, String>>,
}

impl Checkpointing {
    /// Every `every`; never when None.
    pub(crate) fn new(every: Option<Duration>) -> Self {
        Self {
            every,
            failures: Mutex::default(),
        }
    }
}

/// Why a partner's countersignature was not kept.
#[derive(Debug, thiserror::Error)]
enum NotWitnessed {
    #[error("WitnessCheckpoint: {code}: {message}")]
    Call { code: tonic::Code, message: String },
    #[error("its keys are not known yet (no trust bundle fetched)")]
    NoKeys,
    #[error("its countersignature: {0}")]
    Refused(#[from] audit_checkpoint::SignedJwsError),
    #[error("its countersignature is not of this checkpoint ({0})")]
    OtherCheckpoint(&'static str),
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl Federation {
    /// Starts the checkpoint task (one per process), unless checkpoints are off.
    pub(crate) fn start_checkpoints(self: &Arc<Self>) {
        let Some(every) = self.checkpoints.every else {
            return;
        };
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(gw) = weak.upgrade() else { break };
                gw.checkpoint_round().await;
            }
        });
    }

    /// One round: a checkpoint if the head moved, then to each partner that has not
    /// countersigned the newest one.
    async fn checkpoint_round(&self) {
        let newest = match self.make_checkpoint().await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not make an audit checkpoint; trying again next round");
                return;
            }
        };
        for peer in self.links.peers.values() {
            let outcome = self.send_checkpoint(peer, &newest).await;
            let mut failures = locks::lock(&self.checkpoints.failures);
            match outcome {
                Ok(()) => {
                    if failures.remove(&peer.id).is_some() {
                        tracing::info!(partner = %peer.id, seq = newest.seq, "partner witnesses audit checkpoints again");
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    // Said once per kind of failure, not every round while a partner is down.
                    if failures.get(&peer.id) != Some(&e) {
                        tracing::warn!(partner = %peer.id, seq = newest.seq, error = %e, "audit checkpoint not witnessed; sent again next round");
                        failures.insert(peer.id.clone(), e);
                    }
                }
            }
        }
    }

    /// The newest own checkpoint, made now when the chain's head moved past it.
    async fn make_checkpoint(&self) -> Result<Option<OwnCheckpointRecord>, ServiceError> {
        let last = self.store.last_own_checkpoint().await?;
        let (seq, head) = self.store.audit_head().await?;
        if seq == 0 || last.as_ref().is_some_and(|c| c.seq >= seq) {
            return Ok(last);
        }
        let t = now();
        let checkpoint = {
            let keys = self.state.keyring();
            let signer = keys
                .signer(t)
                .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
            let claims = CheckpointClaims {
                iss: self.policy.issuer.clone(),
                seq,
                head: audit_checkpoint::hex(&head),
                iat: t,
            };
            audit_checkpoint::sign(signer, CHECKPOINT_TYPE, &claims)?
        };
        let record = OwnCheckpointRecord {
            seq,
            head,
            checkpoint,
            created_at: t,
        };
        if self.store.insert_own_checkpoint(&record).await? {
            tracing::debug!(seq, "audit checkpoint made");
            return Ok(Some(record));
        }
        // Another replica made the one for this head: it is the one sent.
        Ok(self.store.last_own_checkpoint().await?)
    }

    /// Sends `c` to `peer` unless it countersigned it already; keeps its countersignature
    /// once it holds under the partner's keys and names this very checkpoint.
    async fn send_checkpoint(
        &self,
        peer: &Peer,
        c: &OwnCheckpointRecord,
    ) -> Result<(), NotWitnessed> {
        if self
            .store
            .countersigned(c.seq, &peer.id)
            .await
            .map_err(ServiceError::from)?
        {
            return Ok(());
        }
        let answer = peer
            .client
            .clone()
            .witness_checkpoint(super::client::traced(pb::WitnessCheckpointRequest {
                checkpoint: c.checkpoint.clone(),
            }))
            .await
            .map_err(|s| NotWitnessed::Call {
                code: s.code(),
                message: s.message().to_owned(),
            })?
            .into_inner()
            .countersignature;
        let partner = self
            .state
            .registry()
            .partner(&peer.issuer)
            .cloned()
            .filter(|p| !p.keys.is_empty())
            .ok_or(NotWitnessed::NoKeys)?;
        let (_, claims) = audit_checkpoint::verify_signed::<CountersignatureClaims>(
            &answer,
            COUNTERSIGNATURE_TYPE,
            &partner.keys,
            &partner.revoked,
        )?;
        let mismatch = if claims.iss != peer.issuer {
            Some("iss")
        } else if claims.sub != self.policy.issuer {
            Some("sub")
        } else if claims.seq != c.seq {
            Some("seq")
        } else if claims.head != audit_checkpoint::hex(&c.head) {
            Some("head")
        } else if claims.checkpoint_hash != audit_checkpoint::checkpoint_hash(&c.checkpoint) {
            Some("checkpoint_hash")
        } else {
            None
        };
        if let Some(field) = mismatch {
            return Err(NotWitnessed::OtherCheckpoint(field));
        }
        self.store
            .insert_countersignature(c.seq, &peer.id, answer.trim(), now())
            .await
            .map_err(ServiceError::from)?;
        tracing::debug!(partner = %peer.id, seq = c.seq, "audit checkpoint countersigned");
        Ok(())
    }
}
