//! Admin requests and answers.

use super::timestamp;
use crate::pb;
use crate::service::{IssuedCounterToken, NewPartner, ServiceError};

impl TryFrom<pb::AddPartnerRequest> for NewPartner {
    type Error = ServiceError;

    fn try_from(r: pb::AddPartnerRequest) -> Result<Self, Self::Error> {
        let p = r
            .partner
            .ok_or_else(|| ServiceError::invalid("partner", "is required"))?;
        // An empty string is an absent optional field.
        let some = |s: String| (!s.trim().is_empty()).then_some(s);
        Ok(Self {
            id: p.id,
            profile: p.profile,
            issuer: p.issuer,
            jwks_file: some(p.jwks_file),
            federation_endpoint: some(p.federation_endpoint),
            spiffe_id: some(p.spiffe_id),
            suspended: p.suspended,
            jwks_json: some(r.jwks_json),
        })
    }
}

impl From<IssuedCounterToken> for pb::IssueCounterTokenResponse {
    fn from(issued: IssuedCounterToken) -> Self {
        Self {
            token: issued.token,
            counter: issued.counter.to_string(),
            expires_at: timestamp(issued.expires_at),
            token_id: issued.token_id,
        }
    }
}
