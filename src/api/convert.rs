//! Conversions between protobuf messages and service types: `TryFrom` a request into what
//! the core takes (INVALID_ARGUMENT naming the field), `From` the core's answer back.

mod admin;
mod entitlements;
mod federation;
mod issuance;
mod verification;

pub(crate) use entitlements::RedemptionPage;

use crate::credential::HolderKey;
use crate::pb;
use crate::service::{
    CardView, EntitlementView, IssueRequest, KeyView, PartnerView, ServiceError, Verdict,
};

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
        Self {
            card_id: v.card_id,
            token: v.token,
            qr_payload,
            issued_at: timestamp(v.issued_at),
            expires_at: timestamp(v.expires_at),
            key_id: v.kid,
            status: v.status.as_str().to_owned(),
            holder_name: v.holder_name,
            tier: v.tier,
            category: v.category,
            status_reason: v.status_reason,
        }
    }
}

/// Entitlement lines in the caller's language ("en", or Chinese by default).
pub(crate) fn entitlements(lines: &[EntitlementView], language: &str) -> Vec<pb::Entitlement> {
    let en = language.eq_ignore_ascii_case("en");
    lines
        .iter()
        .map(|l| pb::Entitlement {
            service_code: l.service_code.clone(),
            name: if en { &l.name_en } else { &l.name_zh }.clone(),
            basis: l.basis.as_str().to_owned(),
            source_service_code: l.source_service_code.clone(),
            name_zh: l.name_zh.clone(),
            name_en: l.name_en.clone(),
            reason: if en { &l.reason_en } else { &l.reason_zh }.clone(),
            quota: l.quota.clone(),
        })
        .collect()
}

/// A verdict as VerifyCard answers it.
pub(crate) fn verdict(v: Verdict, language: &str) -> pb::VerifyCardResponse {
    let (recognised_tier, lines, version) = match &v.recognition {
        Some(r) if v.valid() => (
            r.recognised_tier.as_str().to_owned(),
            entitlements(&r.lines, language),
            r.version.clone(),
        ),
        Some(r) => (
            r.recognised_tier.as_str().to_owned(),
            Vec::new(),
            r.version.clone(),
        ),
        None => (String::new(), Vec::new(), String::new()),
    };
    pb::VerifyCardResponse {
        valid: v.valid(),
        reason: v.reason.as_str().to_owned(),
        issuer_region: v.issuer_region,
        card_id: v.card_id,
        native_tier: v.native_tier,
        recognised_tier,
        expires_at: timestamp(v.expires_at),
        entitlements: lines,
        holder_name: v.holder_name,
        catalogue_version: version,
        detail: v.detail,
    }
}

impl From<PartnerView> for pb::Partner {
    fn from(p: PartnerView) -> Self {
        let r = p.record;
        Self {
            id: r.id,
            profile: r.profile,
            issuer: r.issuer,
            jwks_file: r.jwks_file.unwrap_or_default(),
            federation_endpoint: r.federation_endpoint.unwrap_or_default(),
            spiffe_id: r.spiffe_id.unwrap_or_default(),
            suspended: r.suspended,
            source: r.source,
            key_ids: p.kids,
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
            revoked_at: k.revoked.as_ref().and_then(|(at, _)| timestamp(*at)),
            revoked_reason: k.revoked.map(|(_, why)| why).unwrap_or_default(),
        }
    }
}

impl From<crate::service::CounterTokenView> for pb::CounterToken {
    fn from(t: crate::service::CounterTokenView) -> Self {
        let (revoked_at, reason) = t.revoked.unzip();
        Self {
            token_id: t.token_id,
            counter: t.counter,
            issued_by: t.issued_by,
            issued_at: timestamp(t.issued_at),
            expires_at: timestamp(t.expires_at),
            revoked_at: revoked_at.and_then(timestamp),
            reason: reason.unwrap_or_default(),
        }
    }
}
