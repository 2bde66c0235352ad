//! Conversions between protobuf messages and service types.

use crate::credential::HolderKey;
use crate::pb;
use crate::service::{CardView, IssueRequest, KeyView, ServiceError, Verdict};

/// Seconds to a protobuf timestamp.
pub(crate) fn timestamp(seconds: i64) -> Option<prost_types::Timestamp> {
    (seconds > 0).then_some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn field<T: std::str::FromStr<Err = crate::domain::ParseError>>(
    name: &'static str,
    value: &str,
) -> Result<T, ServiceError> {
    if value.trim().is_empty() {
        return Err(ServiceError::invalid(name, "is required"));
    }
    value.parse().map_err(|e| ServiceError::invalid(name, e))
}

/// An idempotency key: optional, but bounded when given.
pub(crate) fn idempotency_key(key: String) -> Result<Option<String>, ServiceError> {
    match key.trim() {
        "" => Ok(None),
        k if k.len() > 128 => Err(ServiceError::invalid(
            "idempotency_key",
            "at most 128 bytes",
        )),
        k => Ok(Some(k.to_owned())),
    }
}

impl TryFrom<pb::IssueCardRequest> for IssueRequest {
    type Error = ServiceError;

    fn try_from(r: pb::IssueCardRequest) -> Result<Self, Self::Error> {
        let holder_key = if r.holder_public_key.is_empty() {
            None
        } else {
            Some(HolderKey::from_raw(&r.holder_public_key).ok_or_else(|| {
                ServiceError::invalid("holder_public_key", "must be a 32-byte Ed25519 public key")
            })?)
        };
        Ok(Self {
            holder_name: field("holder_name", &r.holder_name)?,
            id_number: field("id_number", &r.id_number)?,
            tier: field("tier", &r.tier)?,
            category: field("category", &r.category)?,
            valid_days: r.valid_days,
            holder_key,
            idempotency_key: idempotency_key(r.idempotency_key)?,
        })
    }
}

impl From<CardView> for pb::Card {
    fn from(v: CardView) -> Self {
        let qr_payload = v.qr_payload();
        let r = v.record;
        Self {
            card_id: r.card_id,
            token: r.token,
            qr_payload,
            issued_at: timestamp(r.issued_at),
            expires_at: timestamp(r.expires_at),
            key_id: r.kid,
            status: r.status,
            holder_name: r.holder_name,
            tier: r.tier,
            category: r.category,
            status_reason: r.status_reason,
        }
    }
}

impl From<Verdict> for pb::VerifyCardResponse {
    fn from(v: Verdict) -> Self {
        Self {
            valid: v.valid(),
            reason: v.reason.as_str().to_owned(),
            issuer_region: v.issuer_region,
            card_id: v.card_id,
            native_tier: v.native_tier,
            recognised_tier: v.recognised_tier,
            expires_at: timestamp(v.expires_at),
            entitlements: Vec::new(),
            holder_name: v.holder_name,
            catalogue_version: String::new(),
            detail: v.detail,
        }
    }
}

impl From<KeyView> for pb::SigningKey {
    fn from(k: KeyView) -> Self {
        Self {
            key_id: k.kid,
            algorithm: k.algorithm,
            state: k.state.as_str().to_owned(),
            published_at: timestamp(k.published_at),
            signs_from: timestamp(k.signs_from),
            retired_at: k.retired_at.and_then(timestamp),
            published_until: timestamp(k.signed_until),
        }
    }
}
