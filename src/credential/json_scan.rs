//! A strict single-pass JSON scanner for what a token holds before its signature is checked
//! (header and payload): linear in the input, bounded in depth, members and number length,
//! and refusing a member name given twice at any depth (compared unescaped). It accepts
//! exactly what `serde_json` accepts for a `Map<String, Value>`, less what those bounds and
//! duplicates refuse, and keeps only where the top-level members' values lie.
//!
//! Hand-written: jsonwebtoken parses with serde (last duplicate wins, no caps), after which
//! nothing could refuse these shapes before the signature.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Deepest nesting of objects and arrays accepted: our tokens nest 3 deep.
pub const MAX_DEPTH: usize = 16;
/// Most object members accepted in one document, at all depths: our tokens hold about 12.
pub const MAX_MEMBERS: usize = 256;
/// Longest number accepted: an i64 takes 20 characters, a shortest round-trip f64 about 24.
pub const MAX_NUMBER_CHARS: usize = 40;

/// Objects up to this many members are checked for duplicates pair by pair, larger ones
/// by sorting their names (pairs are cheaper than a sort for the small objects we issue).
const PAIRWISE_MEMBERS: usize = 8;

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
    top: Vec<(Cow<'a, str>, (usize, usize))>,
}

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
            Some(b'"') => Member::Str(unescape(&value[1..value.len() - 1])),
            Some(b'n') => Member::Null,
            _ => Member::Other,
        })
    }

    /// The top-level member `name` when it is a string.
    pub fn str(&self, name: &str) -> Option<Cow<'a, str>> {
        match self.member(name)? {
            Member::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Scans `bytes` as one JSON object.
pub fn scan(bytes: &[u8]) -> Result<Scanned<'_>, ScanError> {
    // serde_json refuses every byte that is not UTF-8, inside strings or out of them.
    let text = std::str::from_utf8(bytes).map_err(|_| ScanError::NotAnObject)?;
    let mut s = Scanner {
        b: bytes,
        text,
        i: 0,
        depth: 0,
        arrays: 0,
        frames: [0; MAX_DEPTH],
        names: Vec::with_capacity(16),
        spans: Vec::with_capacity(16),
        members: 0,
        value_start: 0,
    };
    s.document()?;
    let top = s.names.into_iter().zip(s.spans).collect();
    Ok(Scanned { text, top })
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
    /// Open objects and arrays.
    depth: usize,
    /// Bit d set: the container at depth d + 1 is an array.
    arrays: u32,
    /// Where each open object's names start in `names`.
    frames: [usize; MAX_DEPTH],
    /// Names of the open objects' members, innermost last; the top level's stay.
    names: Vec<Cow<'a, str>>,
    /// Byte ranges of the top-level values.
    spans: Vec<(usize, usize)>,
    /// Members read so far, at all depths.
    members: usize,
    /// Where the top-level value being read starts.
    value_start: usize,
}

type Step = Result<(), ScanError>;
const BAD: ScanError = ScanError::NotAnObject;

/// Bytes that end a plain run inside a string: the quote, the backslash, control characters.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn in_array(&self) -> bool {
        self.arrays & (1 << (self.depth - 1)) != 0
    }

    /// The whole document: one object, whitespace around it, nothing else.
    fn document(&mut self) -> Step {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(BAD);
        }
        // Values are read in a loop with an explicit stack, never by recursion.
        'value: loop {
            self.ws();
            if self.depth == 1 {
                self.value_start = self.i;
            }
            match self.peek().ok_or(BAD)? {
                b'{' => {
                    self.open(false)?;
                    self.ws();
                    if !self.eat(b'}') {
                        self.name()?;
                        continue 'value;
                    }
                    self.close_object()?;
                }
                b'[' => {
                    self.open(true)?;
                    self.ws();
                    if !self.eat(b']') {
                        continue 'value;
                    }
                    self.depth -= 1;
                }
                b'"' => {
                    self.i += 1;
                    self.string()?;
                }
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return Err(BAD),
            }
            // A value is complete: close what it completes, then find the next one.
            loop {
                match self.depth {
                    0 => {
                        self.ws();
                        return if self.i == self.b.len() {
                            Ok(())
                        } else {
                            Err(BAD)
                        };
                    }
                    1 if self.spans.len() < self.names.len() => {
                        self.spans.push((self.value_start, self.i));
                    }
                    _ => {}
                }
                self.ws();
                let array = self.in_array();
                match self.peek().ok_or(BAD)? {
                    b',' => {
                        self.i += 1;
                        if !array {
                            self.name()?;
                        }
                        continue 'value;
                    }
                    b'}' if !array => {
                        self.i += 1;
                        self.close_object()?;
                    }
                    b']' if array => {
                        self.i += 1;
                        self.depth -= 1;
                    }
                    _ => return Err(BAD),
                }
            }
        }
    }

    fn open(&mut self, array: bool) -> Step {
        if self.depth == MAX_DEPTH {
            return Err(ScanError::TooDeep);
        }
        if array {
            self.arrays |= 1 << self.depth;
        } else {
            self.arrays &= !(1 << self.depth);
            self.frames[self.depth] = self.names.len();
        }
        self.depth += 1;
        self.i += 1;
        Ok(())
    }

    /// Closes the innermost object, refusing it when it names a member twice. The top
    /// level's names stay for [`Scanned::member`].
    fn close_object(&mut self) -> Step {
        self.depth -= 1;
        let start = self.frames[self.depth];
        if has_duplicates(&self.names[start..]) {
            return Err(ScanError::DuplicateMember);
        }
        if self.depth > 0 {
            self.names.truncate(start);
        }
        Ok(())
    }

    /// A member name and its colon; the value follows.
    fn name(&mut self) -> Step {
        self.ws();
        if !self.eat(b'"') {
            return Err(BAD);
        }
        self.members += 1;
        if self.members > MAX_MEMBERS {
            return Err(ScanError::TooManyMembers);
        }
        let start = self.i;
        let escaped = self.string()?;
        let raw = &self.text[start..self.i - 1];
        self.names.push(if escaped {
            unescape(raw)
        } else {
            Cow::Borrowed(raw)
        });
        self.ws();
        if !self.eat(b':') {
            return Err(BAD);
        }
        Ok(())
    }

    /// The rest of a string after its opening quote; true when it held escapes.
    fn string(&mut self) -> Result<bool, ScanError> {
        let mut escaped = false;
        loop {
            while self.i < self.b.len() && !STRING_STOP[usize::from(self.b[self.i])] {
                self.i += 1;
            }
            match self.peek().ok_or(BAD)? {
                b'"' => {
                    self.i += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    self.i += 1;
                    self.escape()?;
                    escaped = true;
                }
                _ => return Err(BAD), // a control character
            }
        }
    }

    /// One escape after its backslash; surrogates must come in pairs, as in a `String`.
    fn escape(&mut self) -> Step {
        let c = self.peek().ok_or(BAD)?;
        self.i += 1;
        match c {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => match self.hex4()? {
                0xDC00..=0xDFFF => Err(BAD),
                0xD800..=0xDBFF => {
                    if !(self.eat(b'\\') && self.eat(b'u')) {
                        return Err(BAD);
                    }
                    match self.hex4()? {
                        0xDC00..=0xDFFF => Ok(()),
                        _ => Err(BAD),
                    }
                }
                _ => Ok(()),
            },
            _ => Err(BAD),
        }
    }

    fn hex4(&mut self) -> Result<u16, ScanError> {
        let digits = self.b.get(self.i..self.i + 4).ok_or(BAD)?;
        self.i += 4;
        hex4(digits).ok_or(BAD)
    }

    fn literal(&mut self, word: &[u8]) -> Step {
        if self.b.get(self.i..self.i + word.len()) != Some(word) {
            return Err(BAD);
        }
        self.i += word.len();
        Ok(())
    }

    /// A number per RFC 8259, refused as `serde_json` refuses it when it is out of range.
    fn number(&mut self) -> Step {
        let start = self.i;
        self.eat(b'-'); // the sign does not change the magnitude
        let int_start = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(BAD),
        }
        let int_end = self.i;
        let mut frac = (self.i, self.i);
        if self.eat(b'.') {
            frac.0 = self.i;
            self.digits();
            frac.1 = self.i;
            if frac.0 == frac.1 {
                return Err(BAD);
            }
        }
        let mut exp = None;
        if self.eat(b'e') || self.eat(b'E') {
            let exp_start = self.i;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            let digits_start = self.i;
            self.digits();
            if self.i == digits_start {
                return Err(BAD);
            }
            exp = Some(exp_start);
        }
        if self.i - start > MAX_NUMBER_CHARS {
            return Err(ScanError::NumberTooLong);
        }
        let plain_int = frac.0 == frac.1 && exp.is_none();
        if plain_int || in_range(self.b, (int_start, int_end), frac, exp, self.i) {
            Ok(())
        } else {
            Err(BAD)
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }
}

/// Whether `serde_json` (without `float_roundtrip`) reads the number finite: it keeps the
/// digits that fit a u64 as the significand and counts the rest into the exponent, then
/// multiplies by its table of powers of ten. Integers without fraction or exponent always are
/// (at most 40 characters).
fn in_range(
    b: &[u8],
    int: (usize, usize),
    frac: (usize, usize),
    exp_at: Option<usize>,
    end: usize,
) -> bool {
    let mut significand: u64 = 0;
    let mut exponent: i32 = 0;
    // Integer digits past a full significand only count into the exponent.
    let mut long = false;
    for &c in &b[int.0..int.1] {
        let d = u64::from(c - b'0');
        if long || overflows(significand, d) {
            long = true;
            exponent += 1;
        } else {
            significand = significand * 10 + d;
        }
    }
    // Fraction digits are kept until one would overflow; the rest are ignored.
    for &c in &b[frac.0..frac.1] {
        let d = u64::from(c - b'0');
        if overflows(significand, d) {
            break;
        }
        significand = significand * 10 + d;
        exponent -= 1;
    }
    if let Some(at) = exp_at {
        let (positive, digits) = match b[at] {
            b'-' => (false, &b[at + 1..end]),
            b'+' => (true, &b[at + 1..end]),
            _ => (true, &b[at..end]),
        };
        let mut e: i32 = 0;
        for &c in digits {
            let d = i32::from(c - b'0');
            if e >= i32::MAX / 10 && (e > i32::MAX / 10 || d > i32::MAX % 10) {
                // serde_json: out of range unless the significand is zero or it is negative
                return significand == 0 || !positive;
            }
            e = e * 10 + d;
        }
        exponent = if positive {
            exponent.saturating_add(e)
        } else {
            exponent.saturating_sub(e)
        };
    }
    finite(significand, exponent)
}

/// serde_json's overflow test for `significand * 10 + d`.
fn overflows(significand: u64, d: u64) -> bool {
    significand >= u64::MAX / 10 && (significand > u64::MAX / 10 || d > u64::MAX % 10)
}

/// serde_json's `f64_from_parts`, reduced to whether the result is finite.
fn finite(significand: u64, exponent: i32) -> bool {
    if significand == 0 || exponent < 0 {
        return true;
    }
    let Some(pow) = powers_of_ten().get(exponent.unsigned_abs() as usize) else {
        return false;
    };
    #[allow(clippy::cast_precision_loss)] // as serde_json does
    let f = significand as f64;
    (f * pow).is_finite()
}

/// 1e0 to 1e308, each the nearest f64 (as the literals of serde_json's table are).
fn powers_of_ten() -> &'static [f64; 309] {
    static TABLE: OnceLock<[f64; 309]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0; 309];
        for (i, p) in t.iter_mut().enumerate() {
            *p = format!("1e{i}").parse().unwrap_or(f64::INFINITY);
        }
        t
    })
}

fn hex4(digits: &[u8]) -> Option<u16> {
    digits.iter().try_fold(0u16, |n, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some(n << 4 | u16::from(d))
    })
}

/// The text of a string the scanner accepted, escapes resolved.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let b = rest.as_bytes();
        let (c, used) = match b.get(at + 1) {
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => {
                let hi = b.get(at + 2..at + 6).and_then(hex4).unwrap_or(0xFFFD);
                match hi {
                    0xD800..=0xDBFF => {
                        let lo = b.get(at + 8..at + 12).and_then(hex4).unwrap_or(0xDC00);
                        let c = 0x1_0000
                            + ((u32::from(hi) - 0xD800) << 10)
                            + (u32::from(lo).saturating_sub(0xDC00));
                        (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                    }
                    _ => (char::from_u32(u32::from(hi)).unwrap_or('\u{FFFD}'), 6),
                }
            }
            Some(&c) => (char::from(c), 2),
            None => ('\\', 1),
        };
        out.push(c);
        rest = rest.get(at + used..).unwrap_or_default();
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether any name appears twice: pair by pair for small objects, by sorting for large.
fn has_duplicates(names: &[Cow<'_, str>]) -> bool {
    if names.len() <= PAIRWISE_MEMBERS {
        return names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].iter().any(|b| a == b));
    }
    let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::cell::Cell;
    use std::collections::HashSet;

    /// The reference: serde_json reading a map, plus the scanner's bounds and the duplicate
    /// rule checked on what serde_json hands over (names unescaped).
    struct Check<'c> {
        depth: usize,
        members: &'c Cell<usize>,
    }

    impl<'de> DeserializeSeed<'de> for Check<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Check<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            if self.depth > MAX_DEPTH {
                return Err(serde::de::Error::custom("deep"));
            }
            let members = self.members;
            let depth = self.depth + 1;
            while seq.next_element_seed(Check { depth, members })?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            if self.depth > MAX_DEPTH {
                return Err(serde::de::Error::custom("deep"));
            }
            let (members, depth) = (self.members, self.depth + 1);
            let mut seen = HashSet::new();
            while let Some(k) = map.next_key::<String>()? {
                members.set(members.get() + 1);
                if members.get() > MAX_MEMBERS || !seen.insert(k) {
                    return Err(serde::de::Error::custom("members"));
                }
                map.next_value_seed(Check { depth, members })?;
            }
            Ok(())
        }
    }

    fn reference(doc: &[u8]) -> bool {
        let members = Cell::new(0);
        let mut de = serde_json::Deserializer::from_slice(doc);
        let bounded = de
            .deserialize_map(Check {
                depth: 1,
                members: &members,
            })
            .and_then(|()| de.end())
            .is_ok();
        bounded && longest_number_run(doc) <= MAX_NUMBER_CHARS
    }

    fn serde_map(doc: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(doc).is_ok()
    }

    /// Longest run of number characters (the generator keeps them out of strings).
    fn longest_number_run(doc: &[u8]) -> usize {
        doc.split(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    }

    fn agree(doc: &[u8]) {
        let got = scan(doc);
        let shown = String::from_utf8_lossy(doc);
        assert_eq!(got.is_ok(), reference(doc), "{shown} {got:?}");
        if got == Err(ScanError::NotAnObject) {
            assert!(!serde_map(doc), "{shown}");
        }
        if got.is_ok() {
            assert!(serde_map(doc), "{shown}");
        }
    }

    impl PartialEq for Scanned<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.text == other.text
        }
    }

    const NAMES: [&str; 8] = [
        "a",
        "b",
        "iss",
        "\\u0061",
        "\\u0069ss",
        "c\\n",
        "é",
        "\\ud83d\\ude00",
    ];
    const STRINGS: [&str; 14] = [
        "",
        "plain",
        "x\\\"y",
        "\\\\",
        "\\/",
        "\\b\\f\\n\\r\\t",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\ud800",
        "\\udc00",
        "\\ud800\\u0041",
        "\\u12",
        "李雪",
        "\\x",
    ];
    const NUMBERS: [&str; 24] = [
        "0",
        "-0",
        "7",
        "-12",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.5",
        "-0.0",
        "1e2",
        "1E+2",
        "1e-2",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "1.8e308",
        "1e309",
        "1e-400",
        "0e999999999999",
        "0.000001e313",
        "18446744073709551616.5e288",
        "123456789012345678901234567890e279",
        "2.2250738585072014e-308",
    ];

    fn value(rng: &mut StdRng, depth: usize, out: &mut String) {
        let ws = |rng: &mut StdRng, out: &mut String| {
            if rng.gen_bool(0.1) {
                out.push_str([" ", "\n", "\t", "\r", "  "][rng.gen_range(0..5)]);
            }
        };
        ws(rng, out);
        let pick = if depth > 18 {
            rng.gen_range(2..6)
        } else {
            rng.gen_range(0..6)
        };
        match pick {
            0 => {
                out.push('{');
                // Now and then a large flat object (its values scalars): the sorted check.
                let large = depth < 2 && rng.gen_bool(0.02);
                let n = if large {
                    rng.gen_range(200..300)
                } else {
                    rng.gen_range(0..5)
                };
                for i in 0..n {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(rng, out);
                    out.push('"');
                    if n > 8 && rng.gen_bool(0.98) {
                        out.push_str(&format!("m{i}"));
                    } else {
                        out.push_str(NAMES[rng.gen_range(0..NAMES.len())]);
                    }
                    out.push('"');
                    ws(rng, out);
                    out.push(':');
                    value(rng, if large { 19 } else { depth + 1 }, out);
                }
                out.push('}');
            }
            1 => {
                out.push('[');
                for i in 0..rng.gen_range(0..4) {
                    if i > 0 {
                        out.push(',');
                    }
                    value(rng, depth + 1, out);
                }
                out.push(']');
            }
            2 => {
                out.push('"');
                out.push_str(STRINGS[rng.gen_range(0..STRINGS.len())]);
                out.push('"');
            }
            3 => out.push_str(NUMBERS[rng.gen_range(0..NUMBERS.len())]),
            4 => {
                // a generated number: up to 30 digits, a fraction, an exponent
                if rng.gen_bool(0.3) {
                    out.push('-');
                }
                let digits = rng.gen_range(1..20);
                for i in 0..digits {
                    let d = if i == 0 {
                        rng.gen_range(1..10)
                    } else {
                        rng.gen_range(0..10)
                    };
                    out.push(char::from(b'0' + d));
                }
                if rng.gen_bool(0.4) {
                    out.push('.');
                    for _ in 0..rng.gen_range(1..10) {
                        out.push(char::from(b'0' + rng.gen_range(0..10)));
                    }
                }
                if rng.gen_bool(0.4) {
                    out.push_str(["e", "E", "e+", "e-"][rng.gen_range(0..4)]);
                    out.push_str(&rng.gen_range(0..330).to_string());
                }
            }
            _ => out.push_str(["true", "false", "null"][rng.gen_range(0..3)]),
        }
        ws(rng, out);
    }

    fn mutate(rng: &mut StdRng, doc: &mut Vec<u8>) {
        const BYTES: &[u8] = b"{}[]:,\"\\0123456789eE.+-tnful \x01\x7f\xff\xc3\xa9u";
        for _ in 0..rng.gen_range(1..4) {
            if doc.is_empty() {
                doc.push(b'{');
            }
            let at = rng.gen_range(0..doc.len());
            let byte = BYTES[rng.gen_range(0..BYTES.len())];
            match rng.gen_range(0..4) {
                0 => {
                    doc.remove(at);
                }
                1 => doc.insert(at, byte),
                2 => doc[at] = byte,
                _ => {
                    let end = (at + rng.gen_range(1..8)).min(doc.len());
                    let piece = doc[at..end].to_vec();
                    doc.splice(at..at, piece);
                }
            }
        }
    }

    #[test]
    fn accepts_and_refuses_as_serde_json_within_the_bounds() {
        let mut rng = StdRng::seed_from_u64(13);
        let (mut accepted, mut refused) = (0, 0);
        let mut kinds = HashSet::new();
        for i in 0..30_000 {
            let mut doc = String::new();
            let depth = if i % 50 == 0 { 12 } else { 0 };
            // Documents are objects, mostly; sometimes deep ones.
            let mut d = String::from("{\"iss\":");
            value(&mut rng, depth, &mut d);
            d.push('}');
            if i % 50 == 1 {
                // nested 14 to 19 deep, arrays and objects mixed
                let n = rng.gen_range(14..20);
                let open: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
                doc.push_str("{\"d\":");
                for &array in &open {
                    doc.push_str(if array { "[" } else { "{\"o\":" });
                }
                value(&mut rng, 19, &mut doc);
                for &array in open.iter().rev() {
                    doc.push(if array { ']' } else { '}' });
                }
                doc.push('}');
            } else if i % 50 == 2 {
                // 240 to 280 members, sometimes one name twice
                let m: Vec<String> = (0..rng.gen_range(240..280))
                    .map(|k| format!("\"m{}\":{k}", rng.gen_range(0..100_000)))
                    .collect();
                doc = format!("{{{}}}", m.join(","));
            } else if i % 7 == 0 {
                value(&mut rng, 0, &mut doc);
            } else {
                doc = d;
            }
            let mut bytes = doc.into_bytes();
            if i % 3 != 0 {
                mutate(&mut rng, &mut bytes);
            }
            agree(&bytes);
            match scan(&bytes) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    refused += 1;
                    kinds.insert(format!("{e:?}"));
                }
            }
        }
        // The corpus exercises both sides, and every kind of refusal.
        assert!(accepted > 5_000 && refused > 5_000, "{accepted} {refused}");
        assert_eq!(kinds.len(), 5, "{kinds:?}");
    }

    #[test]
    fn bounds_are_exact() {
        let nested = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(scan(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            scan(nested(MAX_DEPTH + 1).as_bytes()).err(),
            Some(ScanError::TooDeep)
        );
        let members = |n: usize| {
            let m: Vec<String> = (0..n).map(|i| format!("\"m{i}\":{i}")).collect();
            format!("{{{}}}", m.join(","))
        };
        assert!(scan(members(MAX_MEMBERS).as_bytes()).is_ok());
        assert_eq!(
            scan(members(MAX_MEMBERS + 1).as_bytes()).err(),
            Some(ScanError::TooManyMembers)
        );
        let number = |n: usize| format!("{{\"n\":{}}}", "1".repeat(n));
        assert!(scan(number(MAX_NUMBER_CHARS).as_bytes()).is_ok());
        assert_eq!(
            scan(number(MAX_NUMBER_CHARS + 1).as_bytes()).err(),
            Some(ScanError::NumberTooLong)
        );
        for dup in [
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":[{"b":1,"b":2}]}"#,
            r#"{"😀":1,"\ud83d\ude00":2}"#,
        ] {
            assert_eq!(
                scan(dup.as_bytes()).err(),
                Some(ScanError::DuplicateMember),
                "{dup}"
            );
        }
        // Many names, sorted rather than compared pair by pair.
        let mut many: Vec<String> = (0..100).map(|i| format!("\"m{i}\":0")).collect();
        many.push("\"m\\u0037\":1".into());
        assert_eq!(
            scan(format!("{{{}}}", many.join(",")).as_bytes()).err(),
            Some(ScanError::DuplicateMember)
        );
    }

    #[test]
    fn top_level_members_read_unescaped() {
        let s =
            scan(br#" {"iss":"a\u0062c","kid":null,"x":[1,{"iss":2}],"typ":"t"} "#).expect("scans");
        assert_eq!(s.str("iss").as_deref(), Some("abc"));
        assert_eq!(s.member("kid"), Some(Member::Null));
        assert_eq!(s.member("x"), Some(Member::Other));
        assert_eq!(s.str("typ").as_deref(), Some("t"));
        assert_eq!(s.member("nope"), None);
        let s = scan(r#"{"\u0069ss":"\ud83d\ude00\n"}"#.as_bytes()).expect("scans");
        assert_eq!(s.str("iss").as_deref(), Some("😀\n"));
    }
}
