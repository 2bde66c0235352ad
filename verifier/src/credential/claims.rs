//! The claims of a token's payload, read in one pass and borrowed from it (the verify path's
//! parser: no `serde_json::Value` tree, no copies of plain strings).

use super::HolderKey;
use super::holder_key::CnfError;
use super::json_scan::{self, Scanned};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;

/// A claim that is there but not of the type asked for; names the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("{0} is not an integer")]
    NotAnInteger(String),
    #[error("{0} is missing or not a string")]
    NotText(String),
}

/// A JSON number as `serde_json::Value` keeps it.
#[derive(Debug, Clone, Copy)]
enum Num {
    Pos(u64),
    Neg(i64),
    Float,
}

impl Num {
    fn as_i64(self) -> Option<i64> {
        match self {
            Self::Pos(n) => i64::try_from(n).ok(),
            Self::Neg(n) => Some(n),
            Self::Float => None,
        }
    }

    fn as_u64(self) -> Option<u64> {
        match self {
            Self::Pos(n) => Some(n),
            Self::Neg(_) | Self::Float => None,
        }
    }
}

/// A claim as the verify path needs it, read in one pass and borrowed from the payload:
/// strings are copied only when they hold escapes, arrays, booleans and null are checked and
/// dropped. Parsing accepts and refuses what `serde_json::Map<String, Value>` does; payloads
/// come here scanned (`json_scan`), which has refused a name given twice in an object: two
/// parsers that keep different duplicates would read two different cards from one payload.
#[derive(Debug)]
enum Claim<'a> {
    Str(Cow<'a, str>),
    Num(Num),
    Obj(Claims<'a>),
    /// `cnf` keeps its JSON value: the holder key is read from it as before.
    Json(Value),
    Other,
}

/// An object's members in document order.
#[derive(Debug, Default)]
pub struct Claims<'a>(Vec<(Cow<'a, str>, Claim<'a>)>);

impl<'a> Claims<'a> {
    /// The members of a JSON object payload; `None` when it is not one, names a member twice
    /// or passes the scanner's bounds.
    pub fn parse(payload: &'a [u8]) -> Option<Self> {
        Self::read(&json_scan::scan(payload).ok()?)
    }

    /// The members of a payload the scanner accepted (so `None` only if the two disagree).
    pub fn read(scanned: &Scanned<'a>) -> Option<Self> {
        serde_json::from_str(scanned.text()).ok()
    }

    fn get(&self, name: &str) -> Option<&Claim<'a>> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A member that is a string.
    #[inline]
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Claim::Str(s) => Some(s),
            Claim::Json(v) => v.as_str(),
            _ => None,
        }
    }

    /// A member that is an object.
    pub fn obj(&self, name: &str) -> Option<&Claims<'a>> {
        match self.get(name)? {
            Claim::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// A member that must be an integer when present.
    #[inline]
    pub fn int(&self, name: &str) -> Result<Option<i64>, ClaimError> {
        let v = match self.get(name) {
            None => return Ok(None),
            Some(Claim::Num(n)) => n.as_i64(),
            Some(Claim::Json(v)) => v.as_i64(),
            Some(_) => None,
        };
        v.map(Some)
            .ok_or_else(|| ClaimError::NotAnInteger(name.to_owned()))
    }

    /// A member that must be a string.
    #[inline]
    pub fn text(&self, name: &str) -> Result<&str, ClaimError> {
        self.str(name)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ClaimError::NotText(name.to_owned()))
    }

    /// `status.status_list.idx` as an unsigned integer.
    #[inline]
    pub fn status_index(&self) -> Option<u64> {
        match self.obj("status")?.obj("status_list")?.get("idx")? {
            Claim::Num(n) => n.as_u64(),
            _ => None,
        }
    }

    /// `cnf.jwk` as a holder key: `Ok(None)` only when there is no `cnf` at all. A `cnf` that
    /// is present but unreadable is an error naming what is wrong, never "not bound": a card
    /// read as unbound would skip a required holder proof.
    pub fn holder_key(&self) -> Result<Option<HolderKey>, CnfError> {
        match self.get("cnf") {
            None => Ok(None),
            Some(Claim::Json(cnf)) => super::holder_key::from_cnf(cnf).map(Some),
            Some(_) => Err(CnfError::NotAnObject),
        }
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor).map(Key)
    }
}

fn members<'de, A: MapAccess<'de>>(mut map: A, top: bool) -> Result<Claims<'de>, A::Error> {
    let mut out = Vec::with_capacity(if top { 12 } else { 2 });
    // No duplicate check here: the scanner refused them, in linear time.
    while let Some(Key(k)) = map.next_key()? {
        let v = if top && k == "cnf" {
            Claim::Json(map.next_value::<Value>()?)
        } else {
            map.next_value::<Claim<'de>>()?
        };
        out.push((k, v));
    }
    Ok(Claims(out))
}

impl<'de> Deserialize<'de> for Claims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Claims<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Claims::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                members(map, true)
            }
        }
        d.deserialize_map(Top)
    }
}

impl<'de> Deserialize<'de> for Claim<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Claim<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Claim::Other)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Claim::Num(match u64::try_from(v) {
                    Ok(u) => Num::Pos(u),
                    Err(_) => Num::Neg(v),
                }))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Claim::Num(Num::Pos(v)))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Claim::Num(Num::Float))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Claim::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Claim::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Claim::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Claim::Other)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Claim::Other)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Claim::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Claim<'de>>()?.is_some() {}
                Ok(Claim::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                members(map, false).map(Claim::Obj)
            }
        }
        d.deserialize_any(Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn claims_read_as_a_json_map_would() {
        let payloads = [
            r#"{"a":"x","n":-2,"f":1.0,"u":18446744073709551615,"o":{"p":{"idx":3}}}"#,
            r#"{"a":"x\"y","k":"\u0041","b":[1,{"c":2}],"t":true,"z":null}"#,
            r#"{"status":{"status_list":{"idx":"6"}}}"#,
            r#"{"status":{"status_list":7}}"#,
            r#"{"status":{"status_list":{"idx":7}}, "state": {"status_list":{"idx":8}}}"#,
            r#"{"n":-0,"m":0,"k":9223372036854775807,"l":9223372036854775808,"e":1e2}"#,
            r#"{"big":1e400}"#,
            r#"{"bad":"\ud800"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#" {"a" : 1 } "#,
            r#"null"#,
            r#"[1]"#,
            r#""s""#,
            r#"{}"#,
            "{\"a\":\"\u{1F600}\"}",
            "",
        ];
        for p in payloads {
            let map = serde_json::from_str::<Map<String, Value>>(p).ok();
            let claims = Claims::parse(p.as_bytes());
            assert_eq!(map.is_some(), claims.is_some(), "{p}");
            let (Some(map), Some(claims)) = (map, claims) else {
                continue;
            };
            for name in [
                "a", "n", "f", "u", "o", "b", "t", "z", "m", "k", "l", "e", "status",
            ] {
                assert_eq!(
                    map.get(name).and_then(Value::as_str),
                    claims.str(name),
                    "{p} {name}"
                );
                let int = match map.get(name) {
                    None => Ok(None),
                    Some(v) => v.as_i64().map(Some).ok_or(()),
                };
                assert_eq!(int, claims.int(name).map_err(|_| ()), "{p} {name}");
            }
            let idx = map
                .get("status")
                .and_then(|s| s.get("status_list"))
                .and_then(|s| s.get("idx"))
                .and_then(Value::as_u64);
            assert_eq!(idx, claims.status_index(), "{p}");
        }
    }

    #[test]
    fn a_member_given_twice_is_refused_at_any_depth() {
        for p in [
            r#"{"sub":"CQ1","sub":"CQ2"}"#,
            r#"{"status":{"status_list":{"idx":5,"idx":6}}}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"n":1,"n":-2}"#,
            r#"{"status":{"status_list":{"idx":5},"status_list":7}}"#,
            r#"{"status":{"status_list":{"idx":7}}, "status": {"status_list":{"idx":8}}}"#,
        ] {
            assert!(Claims::parse(p.as_bytes()).is_none(), "{p}");
        }
        assert!(Claims::parse(br#"{"a":{"b":1},"c":{"b":1}}"#).is_some());
    }
}
