//! The witness side of audit checkpoints: a partner sends a signed checkpoint of its audit
//! chain; it is checked (the partner's own, under its keys, its sequence only growing, no
//! contradiction of one held), kept, and countersigned. The partner reads them back for
//! its `audit verify`: someone who can write its database cannot reach these.

use super::Federation;
use crate::domain::{Role, SpiffeId};
use crate::service::audit_checkpoint::{
    self, CHECKPOINT_TYPE, COUNTERSIGNATURE_TYPE, CheckpointClaims, CountersignatureClaims,
    SignedJwsError,
};
use crate::service::{ServiceError, now};
use crate::store::WitnessedCheckpointRecord;
use crate::trust::PartnerBundle;
use std::sync::Arc;

/// Most checkpoints one GetWitnessedCheckpoints answers (the caller asks again after the last).
const WITNESSED_PAGE: i64 = 1_000;

impl Federation {
    /// Witnesses `checkpoint` for the partner gateway `caller` speaks for: its countersignature.
    pub async fn witness_checkpoint(
        &self,
        caller: &str,
        checkpoint: &str,
    ) -> Result<String, ServiceError> {
        let partner = self.witnessing_partner(caller)?;
        let claims = self.checked_checkpoint(&partner, checkpoint)?;
        let head = audit_checkpoint::unhex32(&claims.head).ok_or_else(|| {
            ServiceError::invalid("checkpoint", "head is not a lowercase-hex SHA-256")
        })?;
        if claims.seq < 1 {
            return Err(ServiceError::invalid(
                "checkpoint",
                "seq must be at least 1",
            ));
        }
        if let Some(answer) = self.as_held(&partner, &claims, &head).await? {
            return Ok(answer);
        }
        if let Some(last) = self.store.last_witnessed(&partner.id).await?
            && claims.seq < last.seq
        {
            return Err(ServiceError::FailedPrecondition(format!(
                "checkpoint: seq {} goes backwards: checkpoint {} of partner {} was witnessed already",
                claims.seq, last.seq, partner.id
            )));
        }
        let t = now();
        let keys = self.state.keyring();
        let signer = keys
            .signer(t)
            .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
        let countersignature = audit_checkpoint::sign(
            signer,
            COUNTERSIGNATURE_TYPE,
            &CountersignatureClaims {
                iss: self.policy.issuer.clone(),
                sub: claims.iss.clone(),
                seq: claims.seq,
                head: claims.head.clone(),
                checkpoint_hash: audit_checkpoint::checkpoint_hash(checkpoint),
                iat: t,
            },
        )?;
        let record = WitnessedCheckpointRecord {
            partner_id: partner.id.clone(),
            seq: claims.seq,
            head: head.clone(),
            checkpoint: checkpoint.trim().to_owned(),
            countersignature: countersignature.clone(),
            witnessed_at: t,
        };
        if self.store.insert_witnessed(&record).await? {
            tracing::debug!(partner = %partner.id, seq = claims.seq, "audit checkpoint witnessed");
            return Ok(countersignature);
        }
        // Another replica kept one for this sequence meanwhile: the first stays.
        self.as_held(&partner, &claims, &head)
            .await?
            .ok_or_else(|| {
                ServiceError::Unavailable("the checkpoint changed meanwhile; try again".into())
            })
    }

    /// Checkpoints witnessed for the partner gateway `caller` speaks for, after `after_seq`,
    /// oldest first.
    pub async fn witnessed_checkpoints(
        &self,
        caller: &str,
        after_seq: i64,
    ) -> Result<Vec<WitnessedCheckpointRecord>, ServiceError> {
        let partner = self.witnessing_partner(caller)?;
        Ok(self
            .store
            .witnessed_after(&partner.id, after_seq, WITNESSED_PAGE)
            .await?)
    }

    /// The federated partner whose gateway `caller` is: the one whose pinned SPIFFE ID it
    /// presents, or, with no pin, the partner identity of that name. A suspended partner
    /// still may have its chain witnessed: that is evidence, not trust in its cards.
    fn witnessing_partner(&self, caller: &str) -> Result<Arc<PartnerBundle>, ServiceError> {
        let unknown = || {
            ServiceError::PermissionDenied(format!(
                "{caller} is not the gateway of a partner under the agreement"
            ))
        };
        let id: SpiffeId = caller.parse().map_err(|_| unknown())?;
        let partner = self
            .state
            .registry()
            .partners()
            .find(|p| match &p.spiffe_id {
                Some(pinned) => pinned.parse::<SpiffeId>().is_ok_and(|pin| pin == id),
                None => id.role() == Role::Partner && id.name() == p.id,
            })
            .cloned()
            .ok_or_else(unknown)?;
        if !partner.federated {
            return Err(ServiceError::PermissionDenied(format!(
                "partner {} is not federated (its keys come from a file): its audit checkpoints are not witnessed here",
                partner.id
            )));
        }
        Ok(partner)
    }

    /// The checkpoint's claims, once it holds as `partner`'s own, signed by one of its keys.
    fn checked_checkpoint(
        &self,
        partner: &PartnerBundle,
        checkpoint: &str,
    ) -> Result<CheckpointClaims, ServiceError> {
        let checked = audit_checkpoint::verify_signed::<CheckpointClaims>(
            checkpoint,
            CHECKPOINT_TYPE,
            &partner.keys,
            &partner.revoked,
        );
        let (_, claims) = match checked {
            Ok(ok) => ok,
            Err(SignedJwsError::UnknownKey(kid)) => {
                // Another partner's key: a partner submits only its own chain.
                let registry = self.state.registry();
                if let Some(owner) = registry
                    .partners()
                    .find(|p| p.id != partner.id && p.keys.contains_key(&kid))
                {
                    return Err(ServiceError::PermissionDenied(format!(
                        "checkpoint: signed by a key of partner {}; partner {} may only submit its own checkpoints",
                        owner.id, partner.id
                    )));
                }
                return Err(ServiceError::invalid(
                    "checkpoint",
                    SignedJwsError::UnknownKey(kid),
                ));
            }
            Err(e) => return Err(ServiceError::invalid("checkpoint", e)),
        };
        if claims.iss != partner.issuer {
            return Err(ServiceError::PermissionDenied(format!(
                "checkpoint: iss {:?} is not partner {}'s issuer; a partner may only submit its own checkpoints",
                claims.iss, partner.id
            )));
        }
        Ok(claims)
    }

    /// The answer for a checkpoint of a sequence already witnessed: the same head again is
    /// answered as before; another head is a fork of the partner's chain, refused and logged.
    async fn as_held(
        &self,
        partner: &PartnerBundle,
        claims: &CheckpointClaims,
        head: &[u8],
    ) -> Result<Option<String>, ServiceError> {
        let Some(held) = self.store.witnessed_at(&partner.id, claims.seq).await? else {
            return Ok(None);
        };
        if held.head == head {
            return Ok(Some(held.countersignature));
        }
        tracing::warn!(
            partner = %partner.id,
            seq = claims.seq,
            witnessed = %audit_checkpoint::hex(&held.head),
            offered = %claims.head,
            "a partner's audit checkpoint contradicts one witnessed earlier: its chain was rewritten; the first is kept"
        );
        Err(ServiceError::FailedPrecondition(format!(
            "checkpoint: seq {} with head {} contradicts a checkpoint witnessed at {} with head {}",
            claims.seq,
            claims.head,
            audit_checkpoint::utc(held.witnessed_at),
            audit_checkpoint::hex(&held.head)
        )))
    }
}
