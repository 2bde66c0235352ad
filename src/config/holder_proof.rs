//! Holder binding settings.

use serde::{Deserialize, Serialize};

/// Holder binding (`[holder_proof]`): how long a challenge lives, and where a card bound to
/// a holder key must come with a proof. A card without `cnf` is never asked for one: it has
/// no key to prove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HolderProofConfig {
    /// Lifetime of a CreateChallenge nonce.
    pub challenge_ttl_seconds: i64,
    /// The `aud` proofs must name; the own `issuer` when unset.
    pub audience: Option<String>,
    /// Service codes whose redemption needs a proof from a bound card.
    pub required_for_services: Vec<String>,
    /// Counter SPIFFE IDs whose redemptions need a proof from a bound card.
    pub required_for_counters: Vec<String>,
}

impl Default for HolderProofConfig {
    fn default() -> Self {
        Self {
            challenge_ttl_seconds: 120,
            audience: None,
            required_for_services: Vec::new(),
            required_for_counters: Vec::new(),
        }
    }
}
