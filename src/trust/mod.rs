//! The trust registry: own keys and each partner's keys under the agreement, and the own
//! cards' status board, held in memory for the verify path (one bundle per partner, keys by
//! kid).

mod keyring;
pub(crate) mod partner_status_list;
mod pinned_key;
mod profiles;
mod registry;
mod status_board;

pub(crate) use keyring::Keyring;
pub use keyring::{KeyState, KeyView, KeyringError, OwnKey, OwnKeyRevocation};
pub use pinned_key::{
    Algorithm, JwkError, JwksError, OwnPublicKeyError, PinnedKey, parse_jwks, revoked_in_jwks,
};
pub use profiles::{PUBLISHED, ProfileSet, PublishedProfileError, parse_published};
pub use registry::{PartnerBundle, TrustRegistry};
pub(crate) use status_board::StatusBoard;
