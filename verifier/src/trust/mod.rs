//! Who is trusted for what, in memory: pinned keys (one algorithm each), partner bundles and
//! the registry of them, token profiles, and a partner's signed status list checked against
//! its keys.

pub mod partner_status_list;
mod pinned_key;
mod profiles;
mod registry;

pub use pinned_key::{
    Algorithm, JwkError, JwksError, OwnPublicKeyError, PinnedKey, parse_jwks, revoked_in_jwks,
};
pub use profiles::{PUBLISHED, ProfileSet, PublishedProfileError, parse_published};
pub use registry::{PartnerBundle, TrustRegistry};
