//! Per-caller rate limits.

use serde::{Deserialize, Serialize};

/// Per-caller rate limits (`[rate_limits]`): a token bucket per client certificate identity
/// and, for callers without one, per address. A rate or burst of 0 leaves that class
/// unlimited; health and reflection are never limited.
///
/// Calls are charged by the work they carry: one unit per credential and one per holder
/// proof (a VerifyCards call of 256 credentials costs 256 units), so one address cannot
/// multiply its allowance by batching. CreateChallenge has buckets of its own.
///
/// The defaults only stop floods. One identity (a partner system, a counter, the operators'
/// tools) may spend 2,000 units a second and 4,000 at once: far beyond an agreement's
/// traffic, yet a runaway client cannot take every core. A public caller gets 100 a second
/// and 512 at once: a phone needs a few, and one full VerifyCards call (256 credentials with
/// their proofs) fits (a counter's browser, with a counter token, has its counter's
/// identified bucket). Challenges: 20 a second, 40 at once, per caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Off: no limits at all.
    pub enabled: bool,
    /// Calls per second for one certificate identity.
    pub identified_per_second: u32,
    /// Calls one certificate identity may make at once after a pause.
    pub identified_burst: u32,
    /// Calls per second from one address without a certificate (IPv6: one /64).
    pub public_per_second: u32,
    /// Calls one such address may make at once after a pause.
    pub public_burst: u32,
    /// CreateChallenge calls per second for one caller (identity or address).
    pub challenge_per_second: u32,
    /// CreateChallenge calls one caller may make at once after a pause.
    pub challenge_burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            identified_per_second: 2000,
            identified_burst: 4000,
            public_per_second: 100,
            public_burst: 512,
            challenge_per_second: 20,
            challenge_burst: 40,
        }
    }
}
