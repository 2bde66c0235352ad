//! The single pass itself: an explicit stack instead of recursion, one byte look-ahead.

use std::borrow::Cow;

use super::number::in_range;
use super::text::{has_duplicates, hex4, unescape};
use super::{MAX_DEPTH, MAX_MEMBERS, MAX_NUMBER_CHARS, ScanError, TopMembers};

/// Top-level member names (unescaped) and the byte range of each value, when `bytes` (whose
/// text is `text`) is one JSON object within the bounds.
pub(super) fn top_members<'a>(bytes: &'a [u8], text: &'a str) -> Result<TopMembers<'a>, ScanError> {
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
    Ok(s.names.into_iter().zip(s.spans).collect())
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
