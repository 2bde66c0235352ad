//! GB 11643-1999 resident ID numbers. The value never leaves the process in clear:
//! `Debug` and `Display` mask it, and it is stored only as a keyed hash.

use super::ParseError;
use std::fmt;
use std::str::FromStr;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A resident ID number whose check character is right.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl IdNumber {
    /// The canonical 18 characters, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for IdNumber {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(ParseError::new("must be 18 characters (GB 11643)"));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(ParseError::new("the first 17 characters must be digits"));
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        if CHECK[(sum % 11) as usize] != b[17] {
            return Err(ParseError::new("check character does not match (GB 11643)"));
        }
        Ok(Self(s))
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber(******************)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_example_passes() {
        assert!("34052419800101001X".parse::<IdNumber>().is_ok());
        assert!("34052419800101001x".parse::<IdNumber>().is_ok());
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert!("340524198001010010".parse::<IdNumber>().is_err());
        assert!("3405241980010100".parse::<IdNumber>().is_err());
        assert!("3405241980010A001X".parse::<IdNumber>().is_err());
    }

    #[test]
    fn debug_never_shows_the_number() {
        let id: IdNumber = "34052419800101001X".parse().expect("valid");
        assert!(!format!("{id:?}").contains("3405"));
    }
}
