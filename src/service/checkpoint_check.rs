//! Comparing the local audit chain with checkpoints of it: the own ones kept here, and the
//! ones partners witnessed (asked from them: someone who can write this database can also
//! delete what is kept here). A checkpoint the chain contradicts is evidence of a rewrite
//! or a truncation; the earliest one names the first record known not to match.

use super::ServiceError;
use super::audit_checkpoint::{self, CHECKPOINT_TYPE, CheckpointClaims};
use crate::store::Store;
use crate::trust::PinnedKey;
use std::collections::{HashMap, HashSet};

/// Who holds a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// This gateway's own database.
    Own,
    /// A partner that witnessed it (its id).
    Partner(String),
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Own => f.write_str("own checkpoints"),
            Self::Partner(id) => write!(f, "partner {id}"),
        }
    }
}

/// What one checkpoint says of the local chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The chain has the checkpoint's head at its sequence.
    Matches {
        /// Who holds it.
        holder: Holder,
        /// Its sequence.
        seq: i64,
    },
    /// The chain has another hash at the checkpoint's sequence: rewritten.
    Rewritten {
        /// Who holds it.
        holder: Holder,
        /// Its sequence.
        seq: i64,
        /// The head it holds (hex).
        witnessed: String,
        /// The chain's hash there now (hex).
        local: String,
    },
    /// The chain ends before the checkpoint's sequence: truncated.
    Truncated {
        /// Who holds it.
        holder: Holder,
        /// Its sequence.
        seq: i64,
        /// The head it holds (hex).
        witnessed: String,
        /// The chain's last sequence now.
        local_end: i64,
    },
    /// Not a checkpoint of ours: not signed by an own key, or another issuer's.
    NotOurs {
        /// Who holds it.
        holder: Holder,
        /// Why.
        why: String,
    },
}

impl Finding {
    /// The first record this finding shows no longer matches, if it shows one.
    pub fn first_unmatched(&self) -> Option<i64> {
        match self {
            Self::Rewritten { seq, .. } => Some(*seq),
            Self::Truncated { local_end, .. } => Some(local_end + 1),
            Self::Matches { .. } | Self::NotOurs { .. } => None,
        }
    }

    /// Who holds the checkpoint.
    pub fn holder(&self) -> &Holder {
        match self {
            Self::Matches { holder, .. }
            | Self::Rewritten { holder, .. }
            | Self::Truncated { holder, .. }
            | Self::NotOurs { holder, .. } => holder,
        }
    }

    /// Whether it is a problem (anything but a match).
    pub fn is_problem(&self) -> bool {
        !matches!(self, Self::Matches { .. })
    }
}

/// What the earliest contradiction shows: the first record known not to match, and the last
/// checkpoint below it that does (the change began after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    /// The first record known not to match.
    pub first_unmatched: i64,
    /// Who holds the checkpoint that shows it.
    pub holder: Holder,
    /// The newest matching checkpoint's sequence below it (0: none).
    pub intact_through: i64,
}

/// The own keys, from the store (their public halves: no key-encryption key is needed).
pub async fn own_keys(store: &dyn Store) -> Result<HashMap<String, PinnedKey>, ServiceError> {
    let mut keys = HashMap::new();
    for r in store.signing_keys().await? {
        let key = PinnedKey::own(&r.kid, &r.algorithm, &r.public_key)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        keys.insert(r.kid, key);
    }
    Ok(keys)
}

/// Compares checkpoints (with their holders) with the chain in `store`. `issuer`, when
/// known, must be theirs.
pub async fn compare(
    store: &dyn Store,
    issuer: Option<&str>,
    keys: &HashMap<String, PinnedKey>,
    held: Vec<(Holder, String)>,
) -> Result<Vec<Finding>, ServiceError> {
    let (local_end, _) = store.audit_head().await?;
    let none = HashSet::new();
    let mut local: HashMap<i64, Option<Vec<u8>>> = HashMap::new();
    let mut findings = Vec::with_capacity(held.len());
    for (holder, checkpoint) in held {
        let claims = match audit_checkpoint::verify_signed::<CheckpointClaims>(
            &checkpoint,
            CHECKPOINT_TYPE,
            keys,
            &none,
        ) {
            Ok((_, claims)) => claims,
            Err(e) => {
                findings.push(Finding::NotOurs {
                    holder,
                    why: format!("a checkpoint {e}"),
                });
                continue;
            }
        };
        if let Some(issuer) = issuer
            && claims.iss != issuer
        {
            findings.push(Finding::NotOurs {
                holder,
                why: format!("checkpoint {} is of issuer {:?}", claims.seq, claims.iss),
            });
            continue;
        }
        let hash = match local.get(&claims.seq) {
            Some(h) => h.clone(),
            None => {
                let h = store
                    .audit_records(claims.seq - 1, 1)
                    .await?
                    .into_iter()
                    .find(|r| r.seq == claims.seq)
                    .map(|r| r.hash);
                local.insert(claims.seq, h.clone());
                h
            }
        };
        let finding = match hash {
            Some(h) if audit_checkpoint::hex(&h) == claims.head => Finding::Matches {
                holder,
                seq: claims.seq,
            },
            Some(h) => Finding::Rewritten {
                holder,
                seq: claims.seq,
                witnessed: claims.head,
                local: audit_checkpoint::hex(&h),
            },
            None => Finding::Truncated {
                holder,
                seq: claims.seq,
                witnessed: claims.head,
                local_end: local_end.min(claims.seq - 1),
            },
        };
        findings.push(finding);
    }
    Ok(findings)
}

/// The earliest contradiction among `findings`, if any.
pub fn earliest_contradiction(findings: &[Finding]) -> Option<Contradiction> {
    let (first_unmatched, holder) = findings
        .iter()
        .filter_map(|f| f.first_unmatched().map(|s| (s, f.holder().clone())))
        .min()?;
    let intact_through = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Matches { seq, .. } if *seq < first_unmatched => Some(*seq),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Some(Contradiction {
        first_unmatched,
        holder,
        intact_through,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(holder: Holder, seq: i64) -> Finding {
        Finding::Rewritten {
            holder,
            seq,
            witnessed: "a".into(),
            local: "b".into(),
        }
    }

    #[test]
    fn the_earliest_contradiction_names_its_record_and_the_last_match_before_it() {
        let mianyang = Holder::Partner("mianyang".into());
        let findings = vec![
            Finding::Matches {
                holder: mianyang.clone(),
                seq: 4,
            },
            Finding::Matches {
                holder: Holder::Own,
                seq: 9,
            },
            rewritten(mianyang.clone(), 12),
            Finding::Truncated {
                holder: Holder::Own,
                seq: 30,
                witnessed: "c".into(),
                local_end: 20,
            },
            Finding::Matches {
                holder: mianyang.clone(),
                seq: 15,
            },
        ];
        assert_eq!(
            earliest_contradiction(&findings),
            Some(Contradiction {
                first_unmatched: 12,
                holder: mianyang,
                intact_through: 9,
            })
        );
        let truncated = [Finding::Truncated {
            holder: Holder::Own,
            seq: 30,
            witnessed: "c".into(),
            local_end: 20,
        }];
        let c = earliest_contradiction(&truncated).expect("truncated");
        assert_eq!((c.first_unmatched, c.intact_through), (21, 0));
        let fine = [Finding::Matches {
            holder: Holder::Own,
            seq: 3,
        }];
        assert_eq!(earliest_contradiction(&fine), None);
    }
}
