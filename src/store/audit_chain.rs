//! Audit records and the hash that chains each to the one before (tamper evidence).

pub use crate::domain::AuditEntry;
use sha2::{Digest, Sha256};

/// SHA-256 over the previous hash and the record's fields, length-prefixed so no two
/// different records hash alike.
pub fn chain_hash(prev: &[u8], seq: i64, e: &AuditEntry) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(e.at.to_be_bytes());
    for field in [&e.caller, &e.event, &e.object, &e.result, &e.detail] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().to_vec()
}
