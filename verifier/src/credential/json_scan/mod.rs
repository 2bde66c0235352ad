//! A strict single-pass JSON scanner for what a token holds before its signature is checked
//! (header and payload): linear in the input, bounded in depth, members and number length,
//! and refusing a member name given twice at any depth (compared unescaped). It accepts
//! exactly what `serde_json` accepts for a `Map<String, Value>`, less what those bounds and
//! duplicates refuse, and keeps only where the top-level members' values lie.
//!
//! Hand-written: jsonwebtoken parses with serde (last duplicate wins, no caps), after which
//! nothing could refuse these shapes before the signature.

mod number;
mod scanner;
#[cfg(test)]
mod tests;
mod text;

use std::borrow::Cow;

/// Deepest nesting of objects and arrays accepted: our tokens nest 3 deep.
pub const MAX_DEPTH: usize = 16;
/// Most object members accepted in one document, at all depths: our tokens hold about 12.
pub const MAX_MEMBERS: usize = 256;
/// Longest number accepted: an i64 takes 20 characters, a shortest round-trip f64 about 24.
pub const MAX_NUMBER_CHARS: usize = 40;

/// Why scanned bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// Not a JSON object as `serde_json` reads one (syntax, UTF-8, escapes, range).
    NotAnObject,
    /// Objects and arrays nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_MEMBERS`] members in all.
    TooManyMembers,
    /// A number longer than [`MAX_NUMBER_CHARS`].
    NumberTooLong,
    /// An object names a member twice.
    DuplicateMember,
}

impl ScanError {
    /// The refusal's detail for a token header.
    pub fn in_header(self) -> &'static str {
        match self {
            Self::NotAnObject => "header is not a JSON object with alg",
            Self::TooDeep => "header nests deeper than 16 levels",
            Self::TooManyMembers => "header holds more than 256 members",
            Self::NumberTooLong => "header holds a number longer than 40 characters",
            Self::DuplicateMember => "header gives a member name twice",
        }
    }

    /// The refusal's detail for a token payload.
    pub fn in_payload(self) -> &'static str {
        match self {
            Self::NotAnObject => "payload is not a JSON object",
            Self::TooDeep => "payload nests deeper than 16 levels",
            Self::TooManyMembers => "payload holds more than 256 members",
            Self::NumberTooLong => "payload holds a number longer than 40 characters",
            Self::DuplicateMember => "payload gives a member name twice",
        }
    }
}

/// A top-level member's value, as the checks before the signature read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member<'a> {
    /// A string, unescaped (borrowed when it held no escapes).
    Str(Cow<'a, str>),
    /// `null`.
    Null,
    /// Any other value.
    Other,
}

/// A JSON object that scanned clean, with its top-level members and where their values lie.
#[derive(Debug)]
pub struct Scanned<'a> {
    text: &'a str,
    /// Top-level names (unescaped) and the byte range of each value.
    top: TopMembers<'a>,
}

/// Top-level names (unescaped), each with the byte range of its value.
type TopMembers<'a> = Vec<(Cow<'a, str>, (usize, usize))>;

impl<'a> Scanned<'a> {
    /// The scanned document.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The top-level member `name`, when present.
    pub fn member(&self, name: &str) -> Option<Member<'a>> {
        let &(_, (start, end)) = self.top.iter().find(|(n, _)| n == name)?;
        let value = &self.text[start..end];
        Some(match value.as_bytes().first() {
            Some(b'"') => Member::Str(text::unescape(&value[1..value.len() - 1])),
            Some(b'n') => Member::Null,
            _ => Member::Other,
        })
    }

    /// The top-level member `name` when it is a string.
    #[inline]
    pub fn str(&self, name: &str) -> Option<Cow<'a, str>> {
        match self.member(name)? {
            Member::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Scans `bytes` as one JSON object.
/// Scans `bytes` as one JSON object.
pub fn scan(bytes: &[u8]) -> Result<Scanned<'_>, ScanError> {
    // serde_json refuses every byte that is not UTF-8, inside strings or out of them.
    let text = std::str::from_utf8(bytes).map_err(|_| ScanError::NotAnObject)?;
    let top = scanner::top_members(bytes, text)?;
    Ok(Scanned { text, top })
}
