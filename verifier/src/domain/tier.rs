//! Card tiers: a single capital letter. Which letters a region uses is data (its catalogue).

use super::ParseError;
use std::fmt;
use std::str::FromStr;

/// A tier letter, "A" the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tier(u8);

impl Tier {
    /// The letter.
    pub fn as_str(&self) -> &'static str {
        const L: [&str; 26] = [
            "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q",
            "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
        ];
        L[usize::from(self.0 - b'A')]
    }
}

impl FromStr for Tier {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().as_bytes() {
            [c @ b'A'..=b'Z'] => Ok(Self(*c)),
            _ => Err(ParseError::new(
                "must be a single tier letter such as \"A\"",
            )),
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
