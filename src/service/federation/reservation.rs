//! Shared quotas across the border. The holder's home region is authoritative: a host that
//! redeems a counted mapped service for a visitor first reserves it at home, synchronously
//! and under its idempotency key, so a retry (through any replica, of either region) is the
//! same reservation and nothing is granted twice.

use super::Federation;
use crate::domain::{CardStatus, QuotaRule, Reason, Role, SpiffeId, shanghai_year};
use crate::pb;
use crate::service::catalogue::OwnRegion;
use crate::service::{ServiceError, now};
use crate::store::{AuditEntry, RedeemOutcome, RedemptionRecord};
use crate::trust::PartnerBundle;
use std::sync::Arc;

/// A partner's request to count one use of its visitor's home allowance.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    /// Issuer of the card (must be this region's).
    pub issuer: String,
    /// Card number: must be the `sub` of `credential`.
    pub card_id: String,
    /// The home service that carries the quota.
    pub service_code: String,
    /// The host's idempotency key (scoped here to the calling partner).
    pub idempotency_key: String,
    /// The holder's card token as presented at the host (a QR prefix is allowed).
    pub credential: String,
    /// The holder proof the host received (its nonce is spent there); may be empty.
    pub holder_proof: String,
}

/// What a counter presented at the host, forwarded to the holder's home region.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Presented<'a> {
    /// The card token, as presented (a QR prefix is allowed).
    pub(crate) credential: &'a str,
    /// The holder proof, empty when none came.
    pub(crate) holder_proof: &'a str,
}

/// What the home region answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaReservation {
    /// The home redemption that holds the reservation.
    pub reservation_id: String,
    /// Left in the period after it.
    pub remaining: i64,
    /// End of the period (unix seconds), 0 when none.
    pub period_end: i64,
}

/// The quota period of a rule at `t`: its name and end.
pub(crate) fn period(rule: QuotaRule, t: i64) -> (String, i64) {
    match rule {
        QuotaRule::PerYear(_) | QuotaRule::YuanPerYear => {
            let (year, end) = shanghai_year(t);
            (year.to_string(), end)
        }
        QuotaRule::Once | QuotaRule::YuanOnce | QuotaRule::Stay => ("life".to_owned(), 0),
        _ => (String::new(), 0),
    }
}

impl Federation {
    /// Home side: counts one use of `r.service_code` for an own holder, at a partner's
    /// request, once per (partner, key), against the allowance shared with redemptions here.
    /// The holder's card must be presented and verify here as this region's own, its `sub`
    /// must be `card_id`, and the service must be one the catalogue maps from the partner's
    /// region: a partner learns nothing about a card it was not shown.
    pub async fn reserve_quota(
        &self,
        caller: &str,
        r: ReserveRequest,
    ) -> Result<QuotaReservation, ServiceError> {
        if r.credential.trim().is_empty() {
            return Err(ServiceError::invalid(
                "credential",
                "is required: the holder's card token as presented at the host",
            ));
        }
        if r.idempotency_key.trim().is_empty() || r.idempotency_key.len() > 400 {
            return Err(ServiceError::invalid(
                "idempotency_key",
                "is required (at most 400 characters)",
            ));
        }
        if r.issuer != self.policy.issuer {
            return Err(ServiceError::invalid(
                "issuer",
                format!("{} is not the issuer of this region", r.issuer),
            ));
        }
        let card_id = r.card_id.trim();
        if card_id.is_empty() || card_id.len() > 64 {
            return Err(ServiceError::invalid("card_id", "is required"));
        }
        let partner = self.calling_partner(caller)?;
        let active = self.state.catalogue();
        let here = active.own_region(&self.policy.region)?;
        let code = r.service_code.trim();
        // Only what the agreement maps from the asking partner's region: one rule for an
        // unknown code and an unmapped one, so the answer says nothing else.
        let service = active
            .catalogue
            .region_of_issuer(&partner.issuer)
            .and_then(|theirs| active.catalogue.source_of(&here.id, code, &theirs.id))
            .and_then(|_| here.service(code))
            // Amounts and stays are drawn at home only, never reserved for a partner.
            .filter(|s| s.quota.unit() == crate::domain::Unit::Uses)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "service_code",
                    format!(
                        "{code} is not a service of {} mapped from partner {}",
                        here.id, partner.id
                    ),
                )
            })?;
        let verdict = self.verification.verify(&r.credential);
        if !verdict.valid() {
            return Err(ServiceError::CredentialRefused {
                reason: verdict.reason.as_str(),
                detail: verdict.detail,
            });
        }
        if verdict.issuer_region != self.policy.region {
            return Err(ServiceError::invalid(
                "credential",
                format!("is not a card of {}", self.policy.region),
            ));
        }
        if verdict.card_id != card_id {
            // Nothing is looked up for card_id: whether such a card exists is not said.
            return Err(ServiceError::invalid(
                "card_id",
                "is not the card number of the presented credential",
            ));
        }
        let required = self.verification.proof_required_for_service(code);
        let bound = self.verification.check_forwarded_proof(
            verdict,
            &r.credential,
            &r.holder_proof,
            required,
            &partner.issuer,
        );
        if !bound.valid() {
            return Err(ServiceError::CredentialRefused {
                reason: bound.reason.as_str(),
                detail: bound.detail,
            });
        }
        // The database is authoritative for the card's state (the status board may lag by
        // a refresh); the card is the presented one, so saying so reveals nothing new.
        let t = now();
        let card = self.store.card(card_id).await?;
        match card {
            Some(c) if c.status == CardStatus::Active && c.expires_at > t => {}
            Some(c) if c.status != CardStatus::Active => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "the presented card is {} at home",
                    c.status
                )));
            }
            _ => {
                return Err(ServiceError::FailedPrecondition(
                    "the presented card is not in force at home".into(),
                ));
            }
        }
        let (period, period_end) = period(service.quota, t);
        let record = RedemptionRecord {
            redemption_id: uuid::Uuid::new_v4().to_string(),
            issuer: self.policy.issuer.clone(),
            card_id: card_id.to_owned(),
            service_code: code.to_owned(),
            period,
            caller: caller.to_owned(),
            idem_key: r.idempotency_key.clone(),
            catalogue_version: active.catalogue.version.clone(),
            redeemed_at: t,
            quota_key: code.to_owned(),
            remaining: -1,
            period_end,
            unit: "uses".into(),
            drawn: 1,
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "quota.reserve".into(),
            object: card_id.to_owned(),
            result: "ok".into(),
            detail: format!(
                "{code} ({}) for a partner's redemption; cross-region disclosure of card number and use, purpose: shared quota",
                service.quota
            ),
        };
        let allowance = service.quota.allowance().map(i64::from);
        match self.writer.write(record, allowance, audit).await? {
            RedeemOutcome::Recorded(r) | RedeemOutcome::Replayed(r) => {
                tracing::info!(partner = %partner.id, service = code, remaining = r.remaining, "quota reserved for a partner's redemption");
                Ok(QuotaReservation {
                    reservation_id: r.redemption_id,
                    remaining: r.remaining,
                    period_end: r.period_end,
                })
            }
            RedeemOutcome::KeyReused => Err(ServiceError::AlreadyExists(
                "idempotency_key: already used for another card or service".into(),
            )),
            RedeemOutcome::Exhausted => {
                self.audit
                    .event(caller, "quota.reserve", card_id, "exhausted", code);
                Err(ServiceError::Exhausted(format!(
                    "{code}: the holder's allowance ({}) at home is used up{}",
                    service.quota,
                    if period_end > 0 {
                        format!("; the period ends at unix {period_end}")
                    } else {
                        String::new()
                    }
                )))
            }
        }
    }

    /// The partner a ReserveQuota caller speaks for: the one whose pinned SPIFFE ID it
    /// presents (compared as SPIFFE IDs), or, for a partner with no pinned ID, the partner
    /// identity of that name (the own CA vouched for it).
    fn calling_partner(&self, caller: &str) -> Result<Arc<PartnerBundle>, ServiceError> {
        let unknown = || {
            ServiceError::PermissionDenied(format!(
                "{caller} is not the gateway of a partner under the agreement"
            ))
        };
        let id: SpiffeId = caller.parse().map_err(|_| unknown())?;
        let registry = self.state.registry();
        let partner = registry
            .partners()
            .find(|p| match &p.spiffe_id {
                Some(pinned) => pinned.parse::<SpiffeId>().is_ok_and(|pin| pin == id),
                None => id.role() == Role::Partner && id.name() == p.id,
            })
            .cloned()
            .ok_or_else(unknown)?;
        if partner.suspended {
            return Err(ServiceError::PermissionDenied(format!(
                "partner {} is suspended under the agreement",
                partner.id
            )));
        }
        Ok(partner)
    }

    /// Host side: reserves `home_code` for a visitor at its home region before anything is
    /// recorded here. The key names the counter too, since keys are scoped per caller.
    /// The home region verifies the holder's card itself, so the credential goes as it was
    /// presented, with the holder proof checked here (its nonce is spent here).
    pub(crate) async fn reserve_at_home(
        &self,
        issuer: &str,
        card_id: &str,
        home_code: &str,
        counter: &str,
        key: &str,
        presented: &Presented<'_>,
    ) -> Result<QuotaReservation, ServiceError> {
        let Some(peer) = self.links.peers.get(issuer) else {
            let home = self
                .state
                .registry()
                .partner(issuer)
                .map_or_else(|| issuer.to_owned(), |p| p.id.clone());
            return Err(ServiceError::FailedPrecondition(format!(
                "{home_code} is counted against the holder's home region ({home}), which has \
                 no federation_endpoint here to reserve it; it is not granted"
            )));
        };
        let mut client = peer.client.clone();
        // One line per cross-region call, so the redemption can be followed into the home
        // region's log by its trace id (this span's).
        tracing::info!(home = %peer.id, service = home_code, "reserving at the holder's home region");
        let answer = client
            .reserve_quota(super::client::traced(pb::ReserveQuotaRequest {
                issuer: issuer.to_owned(),
                card_id: card_id.to_owned(),
                service_code: home_code.to_owned(),
                idempotency_key: format!("{counter}|{key}"),
                credential: presented.credential.trim().to_owned(),
                holder_proof: presented.holder_proof.trim().to_owned(),
            }))
            .await;
        match answer {
            Ok(a) => {
                let a = a.into_inner();
                Ok(QuotaReservation {
                    reservation_id: a.reservation_id,
                    remaining: a.remaining,
                    period_end: a.period_end.map_or(0, |p| p.seconds),
                })
            }
            Err(s) => {
                let home = &peer.id;
                let msg = s.message();
                Err(match s.code() {
                    tonic::Code::ResourceExhausted => {
                        ServiceError::Exhausted(format!("at the home region {home}: {msg}"))
                    }
                    tonic::Code::AlreadyExists => {
                        ServiceError::AlreadyExists(format!("at the home region {home}: {msg}"))
                    }
                    // The home region refused the holder's card or proof: the counter hears
                    // the verdict's reason as if it were refused here.
                    tonic::Code::FailedPrecondition if refused_card(&s).is_some() => {
                        ServiceError::CredentialRefused {
                            reason: refused_card(&s).unwrap_or_default(),
                            detail: format!("at the home region {home}: {msg}"),
                        }
                    }
                    tonic::Code::FailedPrecondition
                    | tonic::Code::NotFound
                    | tonic::Code::InvalidArgument => ServiceError::FailedPrecondition(format!(
                        "the home region {home} refused the reservation: {msg}"
                    )),
                    code => ServiceError::Unavailable(format!(
                        "the holder's home region {home} cannot reserve {home_code} now \
                         ({code:?}: {msg}); nothing was granted, try again"
                    )),
                })
            }
        }
    }
}

/// The verdict's reason a home region's refusal carries in its error details, when it is one.
fn refused_card(s: &tonic::Status) -> Option<&'static str> {
    use tonic_types::StatusExt;
    let info = s.get_details_error_info()?;
    Reason::ALL
        .iter()
        .map(|r| r.as_str())
        .find(|r| *r == info.reason)
}
