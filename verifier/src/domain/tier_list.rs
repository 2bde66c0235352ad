//! A service's tiers as the catalogue writes them: "A-F", "A,B" or ["A", "B"].

use super::Tier;
use serde::Deserialize;

/// The two spellings of a tier list.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawTiers {
    Range(String),
    List(Vec<String>),
}

/// Why a service's tier list cannot be read (one of the catalogue's problems).
#[derive(Debug, thiserror::Error)]
pub(super) enum TierListError {
    #[error("bad tier range {0:?}")]
    BadRange(String),
    #[error("tier range {0:?} runs backwards")]
    Backwards(String),
    #[error("{0:?} is not a tier")]
    NotATier(String),
}

/// "A-F" or "A,B" or ["A", "B"] into tiers.
pub(super) fn tiers_of(raw: &RawTiers) -> Result<Vec<Tier>, TierListError> {
    let parts: Vec<String> = match raw {
        RawTiers::List(l) => l.clone(),
        RawTiers::Range(s) => match s.split_once('-') {
            Some((a, b)) => {
                let (a, b): (Tier, Tier) = (
                    a.parse().map_err(|_| TierListError::BadRange(s.clone()))?,
                    b.parse().map_err(|_| TierListError::BadRange(s.clone()))?,
                );
                if a > b {
                    return Err(TierListError::Backwards(s.clone()));
                }
                let (a, b) = (a.as_str().as_bytes()[0], b.as_str().as_bytes()[0]);
                (a..=b).map(|c| (c as char).to_string()).collect()
            }
            None => s.split(',').map(|t| t.trim().to_owned()).collect(),
        },
    };
    parts
        .iter()
        .map(|t| {
            t.parse::<Tier>()
                .map_err(|_| TierListError::NotATier(t.clone()))
        })
        .collect()
}
