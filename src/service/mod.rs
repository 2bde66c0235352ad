//! The use cases over domain, credentials and store: issue, verify, publish keys and status.

mod audit;
mod audit_batch;
mod audit_chain;
mod catalogue;
mod challenge_nonce;
mod clock;
mod counter_tokens;
mod error;
mod federation;
mod gateway;
mod holder_proof;
mod issuance;
mod key_encryption;
mod key_revocation;
mod keyring;
pub mod metrics;
mod partners;
mod redemption;
mod redemption_writer;
mod refusal_tally;
mod settings;
mod signature_pool;
mod stated_reason;
mod status_board;
#[cfg(test)]
mod test_support;
mod verification;

pub use audit::AuditSink;
pub use audit_batch::VerifyAudit;
pub use audit_chain::{ChainCheck, check_audit_chain};
pub use catalogue::{ActiveCatalogue, EntitlementView, Recognition};
pub use clock::now;
pub use counter_tokens::{COUNTER_TOKEN_KEY_NAME, CounterTokenView, IssuedCounterToken};
pub use error::ServiceError;
pub use federation::{PartnerFederationStatus, QuotaReservation, ReserveRequest};
pub use gateway::{Gateway, IssuerPolicy};
pub use holder_proof::{Challenge, HOLDER_PROOF_TYPE, sd_hash, sign_holder_proof};
pub use issuance::{CardView, IssueRequest};
pub use key_encryption::{Rewrapped, rewrap};
pub use keyring::{KeyState, KeyView};
pub use partners::{NewPartner, PartnerView};
pub use redemption::Redemption;
pub use refusal_tally::TALLY_EVENT;
pub use settings::{
    FederationSettings, GatewaySettings, HolderProofSettings, PartnerDefinition, PeerChannel,
};
pub(crate) use signature_pool::on_connection;
pub use verification::{CHUNK, Verdict};
