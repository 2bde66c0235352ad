//! A holder's name as printed on the card: NFC-normalised, Chinese names welcome.

use super::ParseError;
use std::str::FromStr;
use unicode_normalization::UnicodeNormalization;

const MAX_CHARS: usize = 64;

/// A non-empty, NFC-normalised name without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderName(String);

impl HolderName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HolderName {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: String = s.trim().nfc().collect();
        if n.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if n.chars().count() > MAX_CHARS {
            return Err(ParseError::new(format!("at most {MAX_CHARS} characters")));
        }
        if n.chars().any(char::is_control) {
            return Err(ParseError::new("must not contain control characters"));
        }
        Ok(Self(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_nfc_normalised() {
        let decomposed = "Zoe\u{0301}";
        assert_eq!(
            decomposed.parse::<HolderName>().expect("ok").as_str(),
            "Zo\u{e9}"
        );
        assert_eq!(
            " 张政昊 ".parse::<HolderName>().expect("ok").as_str(),
            "张政昊"
        );
        assert!("".parse::<HolderName>().is_err());
        assert!("a\u{7}b".parse::<HolderName>().is_err());
    }
}
