//! Redemption at a counter: verify, check the entitlement here, apply the quota, record it
//! exactly once. The database decides (a unique key and one transaction), never a lock here.

use super::catalogue::OwnRegion;
use super::drawing::{Asked, Draw, days_by_stage};
use super::redemption_writer::RedemptionWriter;
use super::{AuditSink, Federation, IssuerPolicy, ServiceError, TrustState, Verification, now};
use crate::domain::{Basis, QuotaRule, StayStage, Unit, shanghai_year};
use crate::store::{AuditEntry, RedeemOutcome, RedemptionRecord, Store};
use std::sync::Arc;

/// A redemption as counters see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    /// The stored record (with the answer it got).
    pub record: RedemptionRecord,
    /// For a stay: how the days drawn fall over its stages.
    pub days_by_stage: Vec<StayStage>,
}

/// Redemption at a counter: the verdict from [`Verification`], the entitlement from the
/// catalogue, a visitor's shared quota reserved at home through [`Federation`], the record
/// written by the group-commit writer.
pub struct Redemptions {
    state: Arc<TrustState>,
    policy: IssuerPolicy,
    verification: Arc<Verification>,
    federation: Arc<Federation>,
    writer: RedemptionWriter,
    audit: AuditSink,
    store: Arc<dyn Store>,
}

impl Redemptions {
    pub(crate) fn new(
        state: Arc<TrustState>,
        policy: IssuerPolicy,
        verification: Arc<Verification>,
        federation: Arc<Federation>,
        writer: RedemptionWriter,
        audit: AuditSink,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            state,
            policy,
            verification,
            federation,
            writer,
            audit,
            store,
        }
    }

    /// Redeems `service_code` for the holder of `credential`, once per idempotency key.
    pub async fn redeem(
        &self,
        caller: &str,
        credential: &str,
        service_code: &str,
        idempotency_key: Option<String>,
        holder_proof: &str,
        asked: Asked,
    ) -> Result<Redemption, ServiceError> {
        let key = idempotency_key.ok_or_else(|| {
            ServiceError::invalid(
                "idempotency_key",
                "is required: it makes a redemption happen once",
            )
        })?;
        let code = service_code.trim();
        if code.is_empty() {
            return Err(ServiceError::invalid("service_code", "is required"));
        }
        let verdict = self.verification.verify(credential);
        let Some(recognition) = verdict.recognition.as_ref().filter(|_| verdict.valid()) else {
            return Err(ServiceError::CredentialRefused {
                reason: verdict.reason.as_str(),
                detail: verdict.detail.clone(),
            });
        };
        let active = self.state.catalogue();
        let here = active.own_region(&self.policy.region)?;
        let service = here.service(code).ok_or_else(|| {
            ServiceError::invalid(
                "service_code",
                format!("{code} is not a service of {}", here.id),
            )
        })?;
        let line = recognition
            .lines
            .iter()
            .find(|l| l.service_code == code)
            .ok_or_else(|| {
                ServiceError::Internal(format!("{code} missing from the recognition"))
            })?;
        match line.basis {
            Basis::Home | Basis::HostStandard => {}
            Basis::LocalOnly | Basis::NotEligible => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "{code} is {} for this holder: {}",
                    line.basis.as_str(),
                    line.reason_en
                )));
            }
        }
        let draw = Draw::of(service, recognition.recognised_tier, asked)?;
        let own = verdict.issuer_region == self.policy.region;
        if !own && draw.unit != Unit::Uses {
            return Err(ServiceError::FailedPrecondition(format!(
                "{code} counts {}: amounts and stays are drawn at home only",
                draw.unit.as_str()
            )));
        }
        // The holder proof last, once the request is known to be right: checking it consumes
        // its nonce. A retry after a lost answer brings a fresh proof, and the idempotency
        // key still makes it the same redemption.
        let required = self.verification.proof_required(code, caller);
        if required || !holder_proof.trim().is_empty() {
            let bound = self
                .verification
                .bind_holder(verdict.clone(), credential, holder_proof, required)
                .await?;
            if !bound.valid() {
                return Err(ServiceError::CredentialRefused {
                    reason: bound.reason.as_str(),
                    detail: bound.detail,
                });
            }
        }
        let issuer = active
            .catalogue
            .region(&verdict.issuer_region)
            .map(|r| r.issuer.clone())
            .unwrap_or_default();
        if !own && let Some(detail) = self.stale_for_service(&issuer, code) {
            return Err(ServiceError::CredentialRefused {
                reason: crate::domain::Reason::StaleTrustData.as_str(),
                detail,
            });
        }
        // A visitor's counted service is reserved at home first; home keeps the count.
        let reserved = if service.quota.is_counted() && !own {
            Some(
                self.federation
                    .reserve_at_home(
                        &issuer,
                        &verdict.card_id,
                        &line.source_service_code,
                        caller,
                        &key,
                        &super::federation::Presented {
                            credential,
                            holder_proof,
                        },
                    )
                    .await?,
            )
        } else {
            None
        };
        let t = now();
        let (period, period_end) = super::federation::period(service.quota, t);
        let record = RedemptionRecord {
            redemption_id: uuid::Uuid::new_v4().to_string(),
            issuer,
            card_id: verdict.card_id.clone(),
            service_code: code.to_owned(),
            period,
            caller: caller.to_owned(),
            idem_key: key,
            catalogue_version: recognition.version.clone(),
            redeemed_at: t,
            // The home service carries a mapped service's quota, so both regions share it.
            quota_key: if own {
                draw.quota_key(code)
            } else {
                line.source_service_code.clone()
            },
            remaining: reserved.as_ref().map_or(-1, |r| r.remaining),
            period_end: reserved.as_ref().map_or(period_end, |r| r.period_end),
            unit: draw.unit.as_str().to_owned(),
            drawn: draw.amount,
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "service.redeem".into(),
            object: verdict.card_id.clone(),
            result: "ok".into(),
            detail: match draw.unit {
                Unit::Uses => format!(
                    "{code} ({}), catalogue {}",
                    service.quota, recognition.version
                ),
                unit => format!(
                    "{code} ({}), {} {}, catalogue {}",
                    service.quota,
                    draw.amount,
                    unit.as_str(),
                    recognition.version
                ),
            },
        };
        let allowance = match reserved {
            Some(_) => None,
            None => draw.limit.or(service.quota.allowance().map(i64::from)),
        };
        match self.writer.write(record.clone(), allowance, audit).await? {
            RedeemOutcome::Recorded(r) | RedeemOutcome::Replayed(r) => Ok(Redemption {
                days_by_stage: match &service.allowance {
                    Some(a) if draw.unit == Unit::Days => days_by_stage(a, r.remaining, r.drawn),
                    _ => Vec::new(),
                },
                record: r,
            }),
            RedeemOutcome::KeyReused => Err(ServiceError::AlreadyExists(
                "idempotency_key: already used for another card, service or amount".into(),
            )),
            RedeemOutcome::Exhausted => {
                self.audit.event(
                    caller,
                    "service.redeem",
                    &verdict.card_id,
                    "exhausted",
                    code,
                );
                if let Some(limit) = draw.limit {
                    // Read after the refusal: a concurrent redemption may have drawn more meanwhile.
                    let left = limit - self.store.quota_used(&record).await?;
                    return Err(ServiceError::Exhausted(draw.exhausted(
                        code,
                        service.quota,
                        left.max(0),
                        &record.period,
                        period_end,
                    )));
                }
                Err(ServiceError::Exhausted(match service.quota {
                    QuotaRule::Once => {
                        format!("{code} may be used once per card and has been used")
                    }
                    _ => format!(
                        "{code}: the allowance ({}) for {} is used up; the period ends at \
                         {}-01-01 00:00 Asia/Shanghai (unix {period_end})",
                        service.quota,
                        record.period,
                        shanghai_year(period_end).0
                    ),
                }))
            }
        }
    }

    /// Why a federated partner's data is too old for `code` (its own staleness limit).
    fn stale_for_service(&self, issuer: &str, code: &str) -> Option<String> {
        let partner = self.state.registry().partner(issuer).cloned()?;
        if !partner.federated {
            return None;
        }
        self.verification.staleness.for_service(&partner, code)
    }

    /// A card's redemptions, newest first.
    pub async fn redemptions(
        &self,
        card_id: &str,
        page_size: u32,
        offset: u64,
    ) -> Result<Vec<RedemptionRecord>, ServiceError> {
        if card_id.trim().is_empty() || card_id.len() > 64 {
            return Err(ServiceError::invalid("card_id", "is required"));
        }
        let limit = i64::from(page_size.clamp(1, 500));
        let offset = i64::try_from(offset)
            .map_err(|_| ServiceError::invalid("page_token", "out of range"))?;
        Ok(self
            .store
            .redemptions(card_id.trim(), limit, offset)
            .await?)
    }
}
