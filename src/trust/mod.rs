//! The trust registry: own keys and each partner's keys under the agreement, and the own
//! cards' status board, held in memory for the verify path (one bundle per partner, keys by
//! kid). Pinned keys, profiles, partner bundles and partner status lists are the verifier
//! crate's (`talent_verifier::trust`), re-exported here; the own keyring and status board
//! are the gateway's state.

mod keyring;
mod status_board;

pub(crate) use keyring::Keyring;
pub use keyring::{KeyState, KeyView, KeyringError, OwnKey, OwnKeyRevocation};
pub(crate) use status_board::StatusBoard;
pub use talent_verifier::trust::*;
