//! The offline bundle (`typ` `trust-bundle+jwt`): everything a verdict needs, signed by the
//! gateway's own key. The gateway writes it; [`OfflineBundle`] reads it against an [`Anchor`]
//! and gives the gateway's verdicts from it.

mod anchor;
mod claims;
mod compact;
mod error;
mod keys;
mod offline;
mod trust;

pub use anchor::Anchor;
pub use claims::{BUNDLE_TYPE, BundleClaims, BundleIssuer, BundleRevokedKey};
pub use compact::MAX_BUNDLE_BYTES;
pub use error::BundleError;
pub use offline::OfflineBundle;
