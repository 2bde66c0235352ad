//! The life of a card, and its 2-bit value in an IETF Token Status List.

use super::ParseError;
use std::str::FromStr;

/// Whether a card may be used now. Serialised by its name (stored idempotency results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    /// Valid.
    Active,
    /// Temporarily not valid; the office may resume it.
    Suspended,
    /// Final.
    Revoked,
}

impl CardStatus {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// The status list value (draft-ietf-oauth-status-list: 0 VALID, 1 INVALID, 2 SUSPENDED).
    pub fn list_value(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
        }
    }

    /// The status a list value stands for; unknown values count as revoked (fail closed).
    #[inline]
    pub fn from_list_value(v: u8) -> Self {
        match v {
            0 => Self::Active,
            2 => Self::Suspended,
            _ => Self::Revoked,
        }
    }
}

impl FromStr for CardStatus {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            other => Err(ParseError::new(format!("unknown card status {other:?}"))),
        }
    }
}

impl TryFrom<String> for CardStatus {
    type Error = ParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for CardStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
