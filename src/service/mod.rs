//! The use cases over domain, credentials and store: issue, verify, publish keys and status.

mod audit;
mod audit_batch;
mod audit_chain;
pub mod audit_checkpoint;
mod catalogue;
mod challenge_nonce;
pub mod checkpoint_check;
mod clock;
mod counter_tokens;
mod drawing;
mod error;
mod federation;
mod holder_proof;
mod issuance;
mod key_encryption;
pub(crate) mod key_revocation;
mod keyring;
mod keys;
mod partners;
mod redemption;
mod redemption_writer;
mod refusal_tally;
mod services;
mod settings;
mod signature_pool;
mod stated_reason;
#[cfg(test)]
mod test_support;
mod trust_state;
mod verdict_counts;
mod verification;

pub use crate::trust::{KeyState, KeyView};
pub use audit::AuditSink;
pub use audit_batch::VerifyAudit;
pub use audit_chain::{ChainCheck, check_audit_chain};
pub use catalogue::{ActiveCatalogue, Catalogues, EntitlementView, Recognition};
pub use clock::now;
pub use counter_tokens::{COUNTER_TOKEN_KEY_NAME, CounterTokenView, Counters, IssuedCounterToken};
pub use drawing::Asked;
pub use error::ServiceError;
pub use federation::{Federation, PartnerFederationStatus, QuotaReservation, ReserveRequest};
pub use holder_proof::Challenge;
pub use issuance::{CardView, Issuance, IssueRequest};
pub use key_encryption::{Rewrapped, rewrap};
pub use keys::Keys;
pub use partners::{NewPartner, PartnerView, Partners};
pub use redemption::{Redemption, Redemptions};
pub use refusal_tally::TALLY_EVENT;
pub use services::Services;
pub use settings::{
    FederationSettings, GatewaySettings, HolderProofSettings, IssuerPolicy, PartnerDefinition,
    PeerChannel,
};
pub(crate) use signature_pool::on_connection;
pub use trust_state::TrustState;
pub use verdict_counts::VerdictCounts;
pub use verification::{CHUNK, Verdict, Verification};
