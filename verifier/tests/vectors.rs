//! The shared test vectors (../tests/vectors, made by `talent-gateway vectors`): the bundle
//! opens under its trust anchor, the tampered one does not, and every case gets the verdict
//! its construction says, at its time.

use serde_json::Value;
use std::path::PathBuf;
use talent_verifier::bundle::{Anchor, OfflineBundle};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn vectors() -> Value {
    serde_json::from_str(&read("vectors.json")).expect("vectors.json is JSON")
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS+08:00` (how `expected.expires_at` is written).
fn unix_of(text: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| -> i64 {
        text.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{text} is not YYYY-MM-DDTHH:MM:SS+08:00"))
    };
    assert!(text.ends_with("+08:00"), "{text}");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19) - 8 * 3600
}

#[test]
fn the_bundle_opens_under_its_trust_and_every_case_gets_its_verdict() {
    let file = vectors();
    let anchor = Anchor::parse(&read(file["trust"].as_str().expect("trust"))).expect("anchor");
    let bundle = OfflineBundle::open(
        read(file["bundle"].as_str().expect("bundle")).trim(),
        &anchor,
    )
    .expect("the bundle opens under its trust anchor");
    let at = file["at"].as_i64().expect("at");
    assert_eq!(bundle.claims().iat, at);
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 18, "{} cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let when = case["at"].as_i64().unwrap_or(at);
        let v = bundle.verify(case["credential"].as_str().expect("credential"), when);
        let recognition = v.recognition.as_ref().filter(|_| v.valid());
        for (member, want) in case["expected"].as_object().expect("expected") {
            let got: Value = match member.as_str() {
                "valid" => v.valid().into(),
                "reason" => v.reason.as_str().into(),
                "issuer_region" => v.issuer_region.clone().into(),
                "card_id" => v.card_id.clone().into(),
                "holder_name" => v.holder_name.clone().into(),
                "native_tier" => v.native_tier.clone().into(),
                "recognised_tier" => recognition
                    .map(|r| r.recognised_tier.as_str().to_owned())
                    .unwrap_or_default()
                    .into(),
                "catalogue_version" => recognition
                    .map(|r| r.version.clone())
                    .unwrap_or_default()
                    .into(),
                "expires_at" => {
                    assert_eq!(
                        v.expires_at,
                        unix_of(want.as_str().expect("a time")),
                        "{name}: expires_at"
                    );
                    continue;
                }
                "holder_key" => serde_json::to_value(&v.holder_key).expect("holder key"),
                other => panic!("{name}: expected.{other} is not a field this test knows"),
            };
            assert_eq!(&got, want, "{name}: {member} (detail: {})", v.detail);
        }
    }
}

#[test]
fn the_tampered_bundle_does_not_open() {
    let file = vectors();
    let anchor = Anchor::parse(&read(file["trust"].as_str().expect("trust"))).expect("anchor");
    let tampered = read(file["tampered_bundle"].as_str().expect("tampered_bundle"));
    let e = OfflineBundle::open(tampered.trim(), &anchor)
        .err()
        .expect("a bundle changed by one byte is refused");
    assert!(!e.to_string().is_empty());
}

#[test]
fn past_its_exp_the_bundle_gives_stale_trust_data_for_every_card() {
    let file = vectors();
    let anchor = Anchor::parse(&read(file["trust"].as_str().expect("trust"))).expect("anchor");
    let bundle = OfflineBundle::open(
        read(file["bundle"].as_str().expect("bundle")).trim(),
        &anchor,
    )
    .expect("opens");
    let after = bundle.claims().exp + 1;
    for case in file["cases"].as_array().expect("cases") {
        let v = bundle.verify(case["credential"].as_str().expect("credential"), after);
        assert_eq!(v.reason.as_str(), "STALE_TRUST_DATA", "{}", case["name"]);
        assert!(!v.valid());
    }
}

#[test]
fn expires_at_is_read_in_the_clis_form() {
    assert_eq!(unix_of("2027-01-01T08:00:00+08:00"), 1_798_761_600);
    assert_eq!(unix_of("1970-01-01T08:00:01+08:00"), 1);
}
