//! Verification answers (verdicts are `convert::verdict`: they need the caller's language).

use super::timestamp;
use crate::pb;
use crate::service::Challenge;

impl From<Challenge> for pb::CreateChallengeResponse {
    fn from(c: Challenge) -> Self {
        Self {
            nonce: c.nonce,
            audience: c.audience,
            expires_at: timestamp(c.expires_at),
        }
    }
}
