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
    let s = scan(br#" {"iss":"a\u0062c","kid":null,"x":[1,{"iss":2}],"typ":"t"} "#).expect("scans");
    assert_eq!(s.str("iss").as_deref(), Some("abc"));
    assert_eq!(s.member("kid"), Some(Member::Null));
    assert_eq!(s.member("x"), Some(Member::Other));
    assert_eq!(s.str("typ").as_deref(), Some("t"));
    assert_eq!(s.member("nope"), None);
    let s = scan(r#"{"\u0069ss":"\ud83d\ude00\n"}"#.as_bytes()).expect("scans");
    assert_eq!(s.str("iss").as_deref(), Some("😀\n"));
}
