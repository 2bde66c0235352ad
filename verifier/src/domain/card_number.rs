//! Card numbers: a region prefix, 12 random characters (60 bits, so unguessable) and an
//! ISO/IEC 7064 MOD 37,36 check character that catches any single typo or swap at a counter.

use super::ParseError;
use std::fmt;
use std::str::FromStr;

/// Crockford base32: no I, L, O, U, so a clerk cannot confuse 1/I or 0/O.
const BODY: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const RANDOM_LEN: usize = 12;

/// A card number with a valid check character. Own cards are `CQ` + 12 + 1 characters;
/// partner card numbers are kept as the partner wrote them (see `foreign`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

impl CardNumber {
    /// Draws a new card number under `prefix` from 60 random bits.
    pub fn generate(prefix: &str, random: u64) -> Self {
        let mut s = String::with_capacity(prefix.len() + RANDOM_LEN + 1);
        s.push_str(prefix);
        for i in 0..RANDOM_LEN {
            s.push(BODY[((random >> (5 * i)) & 31) as usize] as char);
        }
        s.push(check_char(&s));
        Self(s)
    }

    /// A partner's card number, taken as its profile defines it.
    pub fn foreign(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The card number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn value(c: u8) -> Option<u32> {
    ALNUM.iter().position(|&a| a == c).map(|p| p as u32)
}

fn check_char(s: &str) -> char {
    let mut p = 36;
    for c in s.bytes() {
        let mut t = (p + value(c).unwrap_or(0)) % 36;
        if t == 0 {
            t = 36;
        }
        p = (2 * t) % 37;
    }
    ALNUM[((37 - p) % 36) as usize] as char
}

impl FromStr for CardNumber {
    type Err = ParseError;

    /// Parses an own card number: 2 to 4 letters, the random part, and the check character.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        if s.len() < RANDOM_LEN + 3 || s.len() > RANDOM_LEN + 5 {
            return Err(ParseError::new("not a card number (wrong length)"));
        }
        if !s.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParseError::new(
                "not a card number (letters and digits only)",
            ));
        }
        let (body, check) = s.split_at(s.len() - 1);
        if !check.starts_with(check_char(body)) {
            return Err(ParseError::new(
                "card number check character does not match (a typo?)",
            ));
        }
        Ok(Self(s))
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_parse_back() {
        for r in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            let n = CardNumber::generate("CQ", r);
            assert_eq!(n.as_str().len(), 15);
            assert_eq!(n.as_str().parse::<CardNumber>().expect("parses"), n);
        }
    }

    #[test]
    fn every_single_typo_and_swap_is_caught() {
        let n = CardNumber::generate("CQ", 0x0fed_cba9_8765_4321).0;
        let b = n.as_bytes();
        for i in 0..b.len() {
            for &c in ALNUM {
                if c != b[i] {
                    let mut t = b.to_vec();
                    t[i] = c;
                    let s = String::from_utf8(t).expect("ascii");
                    assert!(s.parse::<CardNumber>().is_err(), "typo {s} passed");
                }
            }
            if i + 1 < b.len() && b[i] != b[i + 1] {
                let mut t = b.to_vec();
                t.swap(i, i + 1);
                let s = String::from_utf8(t).expect("ascii");
                assert!(s.parse::<CardNumber>().is_err(), "swap {s} passed");
            }
        }
    }
}
