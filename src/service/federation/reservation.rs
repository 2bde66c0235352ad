//! Shared quotas across the border. The holder's home region is authoritative: a host that
//! redeems a counted mapped service for a visitor first reserves it at home, synchronously
//! and under its idempotency key, so a retry (through any replica, of either region) is the
//! same reservation and nothing is granted twice.

use crate::domain::{CardStatus, QuotaRule, shanghai_year};
use crate::pb;
use crate::service::{Gateway, ServiceError, now};
use crate::store::{AuditEntry, RedeemOutcome, RedemptionRecord};

/// A partner's request to count one use of its visitor's home allowance.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    /// Issuer of the card (must be this region's).
    pub issuer: String,
    /// Card number.
    pub card_id: String,
    /// The home service that carries the quota.
    pub service_code: String,
    /// The host's idempotency key (scoped here to the calling partner).
    pub idempotency_key: String,
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
        QuotaRule::PerYear(_) => {
            let (year, end) = shanghai_year(t);
            (year.to_string(), end)
        }
        QuotaRule::Once => ("life".to_owned(), 0),
        _ => (String::new(), 0),
    }
}

impl Gateway {
    /// Home side: counts one use of `r.service_code` for an own holder, at a partner's
    /// request, once per (partner, key), against the allowance shared with redemptions here.
    pub async fn reserve_quota(
        &self,
        caller: &str,
        r: ReserveRequest,
    ) -> Result<QuotaReservation, ServiceError> {
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
        let card = self
            .store
            .card(card_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("card_id: no card {card_id}")))?;
        let t = now();
        if card.status != CardStatus::Active.as_str() {
            return Err(ServiceError::FailedPrecondition(format!(
                "card {card_id} is {} at home",
                card.status
            )));
        }
        if card.expires_at <= t {
            return Err(ServiceError::FailedPrecondition(format!(
                "card {card_id} has expired"
            )));
        }
        let active = self.catalogue();
        let here = self.own_region(&active)?;
        let code = r.service_code.trim();
        let service = here.service(code).ok_or_else(|| {
            ServiceError::invalid(
                "service_code",
                format!("{code} is not a service of {}", here.id),
            )
        })?;
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
        match self.redemptions.write(record, allowance, audit).await? {
            RedeemOutcome::Recorded(r) | RedeemOutcome::Replayed(r) => Ok(QuotaReservation {
                reservation_id: r.redemption_id,
                remaining: r.remaining,
                period_end: r.period_end,
            }),
            RedeemOutcome::KeyReused => Err(ServiceError::AlreadyExists(
                "idempotency_key: already used for another card or service".into(),
            )),
            RedeemOutcome::Exhausted => {
                self.audit(caller, "quota.reserve", card_id, "exhausted", code);
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

    /// Host side: reserves `home_code` for a visitor at its home region before anything is
    /// recorded here. The key names the counter too, since keys are scoped per caller.
    pub(crate) async fn reserve_at_home(
        &self,
        issuer: &str,
        card_id: &str,
        home_code: &str,
        counter: &str,
        key: &str,
    ) -> Result<QuotaReservation, ServiceError> {
        let Some(peer) = self.federation.peers.get(issuer) else {
            let home = self
                .registry()
                .partner(issuer)
                .map_or_else(|| issuer.to_owned(), |p| p.id.clone());
            return Err(ServiceError::FailedPrecondition(format!(
                "{home_code} is counted against the holder's home region ({home}), which has \
                 no federation_endpoint here to reserve it; it is not granted"
            )));
        };
        let mut client = peer.client.clone();
        let answer = client
            .reserve_quota(pb::ReserveQuotaRequest {
                issuer: issuer.to_owned(),
                card_id: card_id.to_owned(),
                service_code: home_code.to_owned(),
                idempotency_key: format!("{counter}|{key}"),
            })
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
                    tonic::Code::FailedPrecondition | tonic::Code::NotFound => {
                        ServiceError::FailedPrecondition(format!(
                            "the home region {home} refused the reservation: {msg}"
                        ))
                    }
                    code => ServiceError::Unavailable(format!(
                        "the holder's home region {home} cannot reserve {home_code} now \
                         ({code:?}: {msg}); nothing was granted, try again"
                    )),
                })
            }
        }
    }
}
