//! Token profiles: how an issuer's claim names map onto the gateway's, as data.

use serde::{Deserialize, Serialize};

/// Which claims carry what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<CardNumberShape>,
}

/// Claims the gateway reads by their registered names; a profile may not map its own
/// values onto them.
const REGISTERED: [&str; 6] = ["iss", "iat", "nbf", "exp", "cnf", "status"];

/// Longest id, claim name, `typ` or QR prefix a profile may have.
const MAX_NAME: usize = 64;

impl TokenProfile {
    /// Parses a profile file (its shape only; `problems` says what is wrong with the values).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The profile in the file format (what a gateway publishes in its trust bundle).
    pub fn to_toml(&self) -> String {
        // Plain strings, numbers and tables: serialising cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Every value that is wrong, each as `field: why`. Which algorithm names exist is the
    /// caller's to check (the domain knows no cryptography).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let name_ok =
            |s: &str| !s.is_empty() && s.len() <= MAX_NAME && !s.contains(char::is_control);
        if !(name_ok(&self.id)
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'))
        {
            out.push(format!(
                "id: {:?} must be 1 to {MAX_NAME} lowercase letters, digits, '-' or '.'",
                self.id
            ));
        }
        if self.id == "published" {
            out.push(
                "id: \"published\" names a partner's published profile; choose another id".into(),
            );
        }
        if !name_ok(&self.typ) {
            out.push(format!("typ: must be 1 to {MAX_NAME} characters"));
        }
        if self.algorithms.is_empty() {
            out.push("algorithms: must name at least one algorithm".into());
        }
        let prefix_ok = self.qr_prefix.strip_suffix(':').is_some_and(|label| {
            (1..=16).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !prefix_ok {
            out.push(format!(
                "qr_prefix: {:?} must be 1 to 16 letters or digits followed by ':' (e.g. \"NCTC1:\")",
                self.qr_prefix
            ));
        }
        let c = &self.claims;
        let mut seen: Vec<&str> = Vec::new();
        for (field, claim) in [
            ("claims.card_number", &c.card_number),
            ("claims.holder_name", &c.holder_name),
            ("claims.tier", &c.tier),
        ] {
            if !name_ok(claim) {
                out.push(format!(
                    "{field}: must be a claim name of 1 to {MAX_NAME} characters"
                ));
            } else if REGISTERED.contains(&claim.as_str()) {
                out.push(format!(
                    "{field}: {claim:?} is a registered claim the gateway reads itself"
                ));
            } else if seen.contains(&claim.as_str()) {
                out.push(format!("{field}: {claim:?} already carries another value"));
            }
            seen.push(claim);
        }
        if let Some(shape) = &self.card_number {
            if !(1..=8).contains(&shape.prefix.len())
                || !shape.prefix.bytes().all(|b| b.is_ascii_uppercase())
            {
                out.push("card_number.prefix: must be 1 to 8 capital letters".into());
            }
            if !(4..=20).contains(&shape.digits) {
                out.push("card_number.digits: must be between 4 and 20".into());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIANFU: &str = "id = \"tianfu-talent-card-v1\"\ntyp = \"JWT\"\nalgorithms = [\"ES256\"]\n\
                          qr_prefix = \"TFRC1:\"\n[claims]\ncard_number = \"cardNumber\"\n\
                          holder_name = \"name\"\ntier = \"grade\"\n";

    #[test]
    fn a_good_profile_has_no_problem_and_survives_its_own_toml() {
        let p = TokenProfile::parse(TIANFU).expect("parses");
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        assert_eq!(TokenProfile::parse(&p.to_toml()).expect("round trip"), p);
    }

    #[test]
    fn every_problem_is_named() {
        let mut p = TokenProfile::parse(TIANFU).expect("parses");
        p.id = "Tianfu card".into();
        p.algorithms.clear();
        p.qr_prefix = "TFRC1".into();
        p.claims.holder_name = "exp".into();
        p.claims.tier = "cardNumber".into();
        p.card_number = Some(CardNumberShape {
            prefix: "tf".into(),
            digits: 2,
        });
        let found = p.problems();
        for field in [
            "id:",
            "algorithms:",
            "qr_prefix:",
            "claims.holder_name:",
            "claims.tier:",
            "card_number.prefix:",
            "card_number.digits:",
        ] {
            assert!(
                found.iter().any(|f| f.starts_with(field)),
                "{field} in {found:?}"
            );
        }
        assert_eq!(found.len(), 7, "{found:?}");
    }
}
