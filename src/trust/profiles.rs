//! Token profiles shipped with the gateway (profiles/*.toml), parsed at start-up.

use crate::domain::TokenProfile;
use std::sync::Arc;

const SHIPPED: [&str; 2] = [
    include_str!("../../profiles/new-chongqing-talent-card-v1.toml"),
    include_str!("../../profiles/science-city-card-v1.toml"),
];

/// Every shipped profile.
pub fn builtin_profiles() -> Vec<Arc<TokenProfile>> {
    SHIPPED
        .iter()
        .filter_map(|t| match TokenProfile::parse(t) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::error!(error = %e, "a shipped profile does not parse");
                None
            }
        })
        .collect()
}

/// A shipped profile by id.
pub fn builtin_profile(id: &str) -> Option<Arc<TokenProfile>> {
    builtin_profiles().into_iter().find(|p| p.id == id)
}
