//! Pure types and rules of the talent-card domain. No I/O, nothing else of the project.
//! What a verdict needs lives in the verifier crate (`talent_verifier::domain`) and is
//! re-exported here under its old paths; the gateway's own words (callers, audit entries,
//! holder names, ID numbers) are here.

mod audit_entry;
mod caller;
mod holder_name;
mod id_number;

pub use audit_entry::AuditEntry;
pub use caller::{Caller, ConnectionId, Role, SpiffeId};
pub use holder_name::HolderName;
pub use id_number::IdNumber;
pub use talent_verifier::domain::*;
