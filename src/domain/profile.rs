//! Token profiles: how an issuer's claim names map onto the gateway's, as data.

use serde::Deserialize;

/// Which claims carry what.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimNames {
    /// Claim holding the card number.
    pub card_number: String,
    /// Claim holding the holder's name.
    pub holder_name: String,
    /// Claim holding the tier letter.
    pub tier: String,
    /// Whether `nbf` must be present.
    #[serde(default)]
    pub nbf_required: bool,
}

/// Shape of a partner card number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardNumberShape {
    /// Fixed prefix.
    pub prefix: String,
    /// Number of digits after it.
    pub digits: usize,
}

impl CardNumberShape {
    /// True when `s` has the shape.
    pub fn matches(&self, s: &str) -> bool {
        s.strip_prefix(&self.prefix).is_some_and(|rest| {
            rest.len() == self.digits && rest.bytes().all(|b| b.is_ascii_digit())
        })
    }
}

/// A token profile (one file under profiles/).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenProfile {
    /// Profile id, e.g. "science-city-card-v1".
    pub id: String,
    /// Required `typ` header.
    pub typ: String,
    /// Algorithms the profile allows (each key is further pinned to one).
    pub algorithms: Vec<String>,
    /// Prefix of its QR payloads.
    pub qr_prefix: String,
    /// Claim names.
    pub claims: ClaimNames,
    /// Card number shape, when the profile fixes one.
    #[serde(default)]
    pub card_number: Option<CardNumberShape>,
}

impl TokenProfile {
    /// Parses a profile file.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}
