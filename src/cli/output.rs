//! What the CLI prints, for people and for scripts: times as ISO 8601 in China Standard Time
//! (`2027-11-30T23:32:37+08:00`), and `--json` as each message with its proto field names,
//! every field present (defaults included, an unset message as null), times as RFC 3339
//! +08:00. One walk over the message's descriptor, so a new proto field shows up by itself.

use crate::pb::FILE_DESCRIPTOR_SET;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, ReflectMessage, Value};
use serde_json::{Map, Value as Json};
use std::sync::OnceLock;

/// China Standard Time, the offset every printed time carries (and a bare date is read in).
pub(crate) const CST: time::UtcOffset = match time::UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("+08:00 is a valid offset"),
};

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS+08:00`.
pub(crate) fn iso(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => {
            let t = t.to_offset(CST);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => seconds.to_string(),
    }
}

/// An optional protobuf time, ISO 8601 +08:00, or "-" when unset.
pub(crate) fn iso_ts(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| iso(t.seconds))
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the compiled descriptors decode")
    })
}

/// `message` (of proto type `talentcard.v1.NAME`) as JSON with its proto field names.
pub(crate) fn json<M: prost::Message>(name: &str, message: &M) -> Json {
    let full = format!("talentcard.v1.{name}");
    let descriptor = pool()
        .get_message_by_name(&full)
        .unwrap_or_else(|| panic!("{full} is in proto/"));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message re-decodes under its own descriptor");
    message_json(&dynamic)
}

/// Prints `value` as one line of JSON on stdout.
pub(crate) fn print_json(value: &Json) {
    println!("{value}");
}

fn message_json(m: &DynamicMessage) -> Json {
    let d = m.descriptor();
    if d.full_name() == "google.protobuf.Timestamp" {
        let seconds = m
            .get_field_by_name("seconds")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        return Json::String(iso(seconds));
    }
    let mut out = Map::new();
    for field in d.fields() {
        // Every field, set or not: a script reads `0`, `""`, `false` or `[]`, never a gap;
        // an unset message field is null.
        let value = if field.is_list() || field.is_map() || m.has_field(&field) {
            value_json(&m.get_field(&field), &field.kind())
        } else if matches!(field.kind(), Kind::Message(_)) {
            Json::Null
        } else {
            value_json(&m.get_field(&field), &field.kind())
        };
        out.insert(field.name().to_owned(), value);
    }
    Json::Object(out)
}

fn value_json(v: &Value, kind: &Kind) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(n) => Json::from(*n),
        Value::I64(n) => Json::from(*n),
        Value::U32(n) => Json::from(*n),
        Value::U64(n) => Json::from(*n),
        Value::F32(n) => Json::from(*n),
        Value::F64(n) => Json::from(*n),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(crate::credential::b64(b)),
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map_or(Json::from(*n), |v| Json::String(v.name().to_owned())),
            _ => Json::from(*n),
        },
        Value::Message(m) => message_json(m),
        Value::List(items) => Json::Array(items.iter().map(|i| value_json(i, kind)).collect()),
        Value::Map(map) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            Json::Object(
                map.iter()
                    .map(|(k, v)| (map_key(k), value_json(v, &value_kind)))
                    .collect(),
            )
        }
    }
}

fn map_key(k: &prost_reflect::MapKey) -> String {
    use prost_reflect::MapKey;
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// The descriptor of `talentcard.v1.NAME`, for tests.
#[cfg(test)]
fn descriptor(name: &str) -> Option<prost_reflect::MessageDescriptor> {
    pool().get_message_by_name(&format!("talentcard.v1.{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_china_standard_time() {
        assert_eq!(iso(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(iso(1_827_588_757), "2027-11-30T23:32:37+08:00");
    }

    #[test]
    fn json_prints_every_field_with_its_proto_name() {
        assert!(descriptor("Card").is_some());
        let card = crate::pb::Card {
            card_id: "CQ1".into(),
            expires_at: Some(prost_types::Timestamp {
                seconds: 1_827_588_757,
                nanos: 0,
            }),
            ..Default::default()
        };
        let j = json("Card", &card);
        assert_eq!(j["card_id"], "CQ1");
        assert_eq!(j["expires_at"], "2027-11-30T23:32:37+08:00");
        assert_eq!(j["holder_name"], "");
        assert_eq!(j["issued_at"], Json::Null);
    }
}
