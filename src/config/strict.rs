//! Keys of the config file that no setting reads. A misspelt key would otherwise keep its
//! default without a word, and the operator would believe a setting that is not in force.
//!
//! The file is deserialized into the settings through a walker that, wherever a struct is
//! read from a table, notes the table's keys the struct does not name. The names come from
//! the structs themselves (serde's field lists), so a new setting is known without a list.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;

type Error = toml::de::Error;

/// A key of the file that no setting reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    /// Where it is, e.g. `rate_limit`, `rate_limits.enabeld`, `partners[0].spiffe`.
    pub(crate) path: String,
    /// Its value is a table (or an array of tables).
    pub(crate) table: bool,
    /// The nearest name known at that place, when one is near.
    pub(crate) nearest: Option<&'static str>,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.table {
            write!(f, "unknown table `[{}]`", self.path)?;
        } else {
            write!(f, "unknown key `{}`", self.path)?;
        }
        match self.nearest {
            Some(name) => write!(f, ": did you mean `{name}`?"),
            None => write!(f, ": no such setting"),
        }
    }
}

/// Every key of `file` that `T` does not read, in file order per table.
pub(crate) fn unknown_keys<T: de::DeserializeOwned>(file: &toml::Value) -> Vec<UnknownKey> {
    let found = RefCell::new(Vec::new());
    // A value of the wrong type stops the walk below it; extraction reports that error.
    let _ = T::deserialize(Walk {
        value: file.clone(),
        path: String::new(),
        found: &found,
    });
    found.into_inner()
}

/// Every unknown key of the config file at `path`.
pub(crate) fn unknown_in_file(path: &std::path::Path) -> anyhow::Result<Vec<UnknownKey>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let file: toml::Value = toml::from_str(&text)
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    Ok(unknown_keys::<super::Settings>(&file))
}

/// Levenshtein distance (insertions, deletions and substitutions of one character).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The known name nearest to `name`, if it is near enough to be what was meant.
pub(crate) fn nearest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&name, k), *k))
        .filter(|(d, _)| *d <= 2.max(name.chars().count() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn is_table(v: &toml::Value) -> bool {
    match v {
        toml::Value::Table(_) => true,
        toml::Value::Array(a) => !a.is_empty() && a.iter().all(toml::Value::is_table),
        _ => false,
    }
}

struct Walk<'f> {
    value: toml::Value,
    path: String,
    found: &'f RefCell<Vec<UnknownKey>>,
}

struct Entries<'f> {
    entries: std::vec::IntoIter<(String, toml::Value)>,
    pending: Option<(String, toml::Value)>,
    path: String,
    found: &'f RefCell<Vec<UnknownKey>>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let k = seed.deserialize(key.clone().into_deserializer())?;
        self.pending = Some((key, value));
        Ok(Some(k))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("value before key"))?;
        seed.deserialize(Walk {
            value,
            path: join(&self.path, &key),
            found: self.found,
        })
    }
}

struct Items<'f> {
    items: std::iter::Enumerate<std::vec::IntoIter<toml::Value>>,
    path: String,
    found: &'f RefCell<Vec<UnknownKey>>,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((i, value)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(Walk {
            value,
            path: format!("{}[{i}]", self.path),
            found: self.found,
        })
        .map(Some)
    }
}

macro_rules! forward_to_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            de::Deserializer::$method(self.value, visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Walk<'_> {
    type Error = Error;

    forward_to_value! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A key that is present is Some; TOML has no null.
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_unit_struct(self.value, name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            toml::Value::Array(items) => visitor.visit_seq(Items {
                items: items.into_iter().enumerate(),
                path: self.path,
                found: self.found,
            }),
            other => de::Deserializer::deserialize_seq(other, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple(self.value, len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_tuple_struct(self.value, name, len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A free map (service codes to seconds): every key is allowed.
        match self.value {
            toml::Value::Table(t) => visitor.visit_map(Entries {
                entries: t.into_iter().collect::<Vec<_>>().into_iter(),
                pending: None,
                path: self.path,
                found: self.found,
            }),
            other => de::Deserializer::deserialize_map(other, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let toml::Value::Table(t) = self.value else {
            return de::Deserializer::deserialize_struct(self.value, name, fields, visitor);
        };
        let mut known = Vec::with_capacity(t.len());
        for (key, value) in t {
            if fields.contains(&key.as_str()) {
                known.push((key, value));
            } else {
                self.found.borrow_mut().push(UnknownKey {
                    path: join(&self.path, &key),
                    table: is_table(&value),
                    nearest: nearest(&key, fields),
                });
            }
        }
        visitor.visit_map(Entries {
            entries: known.into_iter(),
            pending: None,
            path: self.path,
            found: self.found,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.value, name, variants, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn unknown(text: &str) -> Vec<String> {
        let file: toml::Value = toml::from_str(text).expect("TOML");
        unknown_keys::<Settings>(&file)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_nearest_name_is_the_fewest_edits_away() {
        assert_eq!(edit_distance("regoin", "region"), 2);
        assert_eq!(edit_distance("rate_limit", "rate_limits"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let known = [
            "region",
            "issuer",
            "rate_limits",
            "listen",
            "metrics_listen",
        ];
        assert_eq!(nearest("regoin", &known), Some("region"));
        assert_eq!(nearest("rate_limit", &known), Some("rate_limits"));
        assert_eq!(nearest("metrics_lsiten", &known), Some("metrics_listen"));
        assert_eq!(nearest("Region", &known), Some("region"));
        assert_eq!(nearest("colour", &known), None);
    }

    #[test]
    fn a_good_file_has_no_unknown_key() {
        assert!(
            unknown(
                "region = \"x\"\nmetrics_listen = \"10.0.0.1:9464\"\n\
                 [rate_limits]\nenabled = false\n\
                 [federation.service_staleness_seconds]\nANY_CODE = 60\n\
                 [[partners]]\nid = \"a\"\nprofile = \"p\"\nissuer = \"i\"\njwks_file = \"j\"\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn an_unknown_key_is_found_at_every_level() {
        assert_eq!(
            unknown("regoin = \"x\""),
            ["unknown key `regoin`: did you mean `region`?"]
        );
        assert_eq!(
            unknown("[rate_limit]\nenabled = false"),
            ["unknown table `[rate_limit]`: did you mean `rate_limits`?"]
        );
        assert_eq!(
            unknown("[rate_limits]\nenabeld = false"),
            ["unknown key `rate_limits.enabeld`: did you mean `enabled`?"]
        );
        assert_eq!(
            unknown("[federation]\nstaleness_second = 5"),
            ["unknown key `federation.staleness_second`: did you mean `staleness_seconds`?"]
        );
        assert_eq!(
            unknown("[holder_proof]\nrequired_for_service = []"),
            [
                "unknown key `holder_proof.required_for_service`: did you mean `required_for_services`?"
            ]
        );
        assert_eq!(
            unknown(
                "[[partners]]\nid = \"a\"\nprofile = \"p\"\nissuer = \"i\"\njwks_file = \"j\"\n\
                 [[partners]]\nid = \"b\"\nprofile = \"p\"\nissuer = \"i\"\njwks_file = \"j\"\nspife_id = \"s\""
            ),
            ["unknown key `partners[1].spife_id`: did you mean `spiffe_id`?"]
        );
        assert_eq!(
            unknown("[[partner]]\nid = \"a\""),
            ["unknown table `[partner]`: did you mean `partners`?"]
        );
        // Every one is listed, not only the first; a far-off name gets no guess.
        assert_eq!(
            unknown("colour = 1\nregoin = \"x\"\n[rate_limits]\nenabeld = false"),
            [
                "unknown key `colour`: no such setting",
                "unknown key `regoin`: did you mean `region`?",
                "unknown key `rate_limits.enabeld`: did you mean `enabled`?",
            ]
        );
        // Not read from the file, so not a setting there.
        assert_eq!(
            unknown("config_dir = \"/x\""),
            ["unknown key `config_dir`: no such setting"]
        );
    }
}
