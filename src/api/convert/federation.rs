//! Federation requests and answers.

use super::timestamp;
use crate::pb;
use crate::service::{PartnerFederationStatus, QuotaReservation, ReserveRequest};

impl From<pb::ReserveQuotaRequest> for ReserveRequest {
    fn from(r: pb::ReserveQuotaRequest) -> Self {
        Self {
            issuer: r.issuer,
            card_id: r.card_id,
            service_code: r.service_code,
            idempotency_key: r.idempotency_key,
            credential: r.credential,
            holder_proof: r.holder_proof,
        }
    }
}

impl From<QuotaReservation> for pb::ReserveQuotaResponse {
    fn from(done: QuotaReservation) -> Self {
        Self {
            reservation_id: done.reservation_id,
            remaining: done.remaining,
            period_end: timestamp(done.period_end),
        }
    }
}

impl From<PartnerFederationStatus> for pb::PartnerStatus {
    fn from(p: PartnerFederationStatus) -> Self {
        Self {
            partner_id: p.partner_id,
            last_refresh: p.last_refresh_ms.map(|ms| prost_types::Timestamp {
                seconds: ms.div_euclid(1000),
                nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
            }),
            sequence: p.sequence.max(0) as u64,
            lag_seconds: p.lag_seconds,
            last_error: p.last_error,
            kids: p.kids,
            stale: p.stale,
            catalogue_version: p.catalogue_version,
        }
    }
}
