//! Checking the audit log's hash chain end to end (tamper evidence, MLPS 2.0).

use super::ServiceError;
use crate::store::{AuditEntry, Store, chain_hash};

const PAGE: i64 = 10_000;

/// What a check of the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every record links to the one before and the head matches the last.
    Intact {
        /// Records checked.
        records: i64,
    },
    /// The first record that does not fit, and why.
    Broken {
        /// Its sequence number.
        seq: i64,
        /// What does not fit.
        why: String,
    },
}

/// Walks the whole chain from the first record.
pub async fn check_audit_chain(store: &dyn Store) -> Result<ChainCheck, ServiceError> {
    let mut prev = vec![0u8; 32];
    let mut expected_seq = 1;
    loop {
        let page = store.audit_records(expected_seq - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            let broken = |why: &str| {
                Ok(ChainCheck::Broken {
                    seq: r.seq,
                    why: why.to_owned(),
                })
            };
            if r.seq != expected_seq {
                return broken(&format!(
                    "expected record {expected_seq}: records are missing"
                ));
            }
            if r.prev_hash != prev {
                return broken("its previous-hash does not match the record before");
            }
            let entry = AuditEntry {
                at: r.at,
                caller: r.caller.clone(),
                event: r.event.clone(),
                object: r.object.clone(),
                result: r.result.clone(),
                detail: r.detail.clone(),
            };
            if chain_hash(&prev, r.seq, &entry) != r.hash {
                return broken("its contents do not match its hash (changed after writing)");
            }
            prev = r.hash;
            expected_seq += 1;
        }
    }
    let (head_seq, head_hash) = store.audit_head().await?;
    if head_seq != expected_seq - 1 || (head_seq > 0 && head_hash != prev) {
        return Ok(ChainCheck::Broken {
            seq: expected_seq,
            why: format!(
                "the chain head says {head_seq} records; records after {} are missing",
                expected_seq - 1
            ),
        });
    }
    Ok(ChainCheck::Intact {
        records: expected_seq - 1,
    })
}
