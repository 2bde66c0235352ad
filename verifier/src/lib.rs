//! talent-verifier: decides whether a talent card is genuine and current, and what its holder
//! is recognised as, from memory only. The gateway's verify path and offline verifiers (the
//! CLI, app teams) use this one implementation, so online and offline cannot disagree. No
//! tokio, tonic or sqlx here.
//!
//! - [`domain`]: the agreement's words a verdict needs (tiers, reasons, catalogue, profiles).
//! - [`credential`]: compact JWS, the pre-signature scanner, claims, keys, SM2, status lists.
//! - [`trust`]: pinned keys (one algorithm each), partner bundles, profiles.
//! - [`recognition`]: what a holder is recognised as here, from the catalogue.
//! - [`verification`]: the decision sequence over a [`verification::Trust`], and [`Verdict`].
//! - [`bundle`]: the offline bundle.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod credential;
pub mod domain;
pub mod recognition;
pub mod trust;
pub mod verification;

pub use verification::Verdict;
