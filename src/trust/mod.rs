//! The trust registry: own keys and each partner's keys under the agreement, held in memory
//! for the verify path (one bundle per partner, keys by kid).

mod pinned_key;
mod profiles;
mod registry;

pub use pinned_key::{Algorithm, JwkError, JwksError, PinnedKey, parse_jwks, revoked_in_jwks};
pub use profiles::{PUBLISHED, ProfileSet, PublishedProfileError, parse_published};
pub use registry::{PartnerBundle, TrustRegistry};
