//! The shared test vectors (tests/vectors/): the committed files are what `talent-gateway
//! vectors` makes for their `--at`, byte for byte, and what the command refuses it says.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The committed vectors.
fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn vectors(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
        .arg("vectors")
        .args(args)
        .output()
        .expect("run vectors")
}

#[test]
fn the_committed_vectors_are_what_the_command_makes_for_their_at() {
    let text = std::fs::read_to_string(committed().join("vectors.json")).expect("vectors.json");
    let file: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let at = file["at"].as_i64().expect("at").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("made");
    let out = vectors(&["--out", out_dir.to_str().expect("utf-8"), "--at", &at]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut made: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("read made")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    let mut want: Vec<String> = std::fs::read_dir(committed())
        .expect("read committed")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(
        made, want,
        "the same files (regenerate: talent-gateway vectors --out tests/vectors --at {at})"
    );
    for name in &made {
        let a = std::fs::read(out_dir.join(name)).expect("made file");
        let b = std::fs::read(committed().join(name)).expect("committed file");
        assert!(
            a == b,
            "{name} differs from what `talent-gateway vectors --at {at}` makes: regenerate \
             tests/vectors with it"
        );
    }
    // Another time gives other cards (current at that time), signed by the same keys.
    let later = dir.path().join("later");
    let next = (file["at"].as_i64().expect("at") + 3600).to_string();
    let out = vectors(&["--out", later.to_str().expect("utf-8"), "--at", &next]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        std::fs::read(later.join("vectors.json")).expect("later vectors"),
        text.as_bytes()
    );
    let keys = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("trust.jwks.json")).expect("trust");
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")["keys"].clone()
    };
    assert_eq!(keys(&later), keys(&committed()));
}

#[test]
fn every_case_the_brief_names_is_there_and_the_tampered_bundle_differs_by_its_payload() {
    let text = std::fs::read_to_string(committed().join("vectors.json")).expect("vectors.json");
    let file: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let cases = file["cases"].as_array().expect("cases");
    let reason_of = |name: &str| {
        cases
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("case {name}"))["expected"]["reason"]
            .as_str()
            .expect("reason")
            .to_owned()
    };
    for (name, reason) in [
        ("own-valid", "OK"),
        ("own-expired", "EXPIRED"),
        ("own-not-yet-valid", "NOT_YET_VALID"),
        ("own-revoked", "REVOKED"),
        ("own-suspended", "SUSPENDED"),
        ("own-revoked-key", "KEY_REVOKED"),
        ("own-bad-signature", "BAD_SIGNATURE"),
        ("own-wrong-typ", "WRONG_TYPE"),
        ("own-holder-bound", "OK"),
        ("unknown-issuer", "UNKNOWN_ISSUER"),
        ("partner-valid", "OK"),
        ("partner-expired", "EXPIRED"),
        ("partner-not-yet-valid", "NOT_YET_VALID"),
        ("partner-revoked", "REVOKED"),
        ("partner-bad-signature", "BAD_SIGNATURE"),
        ("sm2-valid", "OK"),
        ("sm2-bad-signature", "BAD_SIGNATURE"),
        ("stale-bundle", "STALE_TRUST_DATA"),
    ] {
        assert_eq!(reason_of(name), reason, "{name}");
    }
    let bundle = std::fs::read_to_string(committed().join("bundle.jwt")).expect("bundle");
    let tampered =
        std::fs::read_to_string(committed().join("bundle-tampered.jwt")).expect("tampered");
    let parts = |t: &str| t.trim().split('.').map(str::to_owned).collect::<Vec<_>>();
    let (b, t) = (parts(&bundle), parts(&tampered));
    assert_eq!(b.len(), 3);
    assert_eq!((&b[0], &b[2]), (&t[0], &t[2]), "header and signature kept");
    let decode = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .expect("base64url")
    };
    let (pb, pt) = (decode(&b[1]), decode(&t[1]));
    assert_eq!(pb.len(), pt.len());
    assert_eq!(
        pb.iter().zip(&pt).filter(|(x, y)| x != y).count(),
        1,
        "one byte of the payload changed"
    );
}

#[test]
fn an_at_out_of_range_is_refused_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("never");
    let out = vectors(&["--out", out_dir.to_str().expect("utf-8"), "--at", "-5"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("--at must be Unix seconds"), "{text}");
    assert!(!out_dir.exists(), "nothing written");
}

#[test]
fn at_takes_a_date_or_an_rfc_3339_time_for_the_same_moment() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 2027-01-01 00:00 in Beijing.
    let made: Vec<Vec<u8>> = ["1798732800", "2027-01-01", "2026-12-31T16:00:00Z"]
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let out_dir = dir.path().join(i.to_string());
            let out = vectors(&["--out", out_dir.to_str().expect("utf-8"), "--at", at]);
            assert!(
                out.status.success(),
                "{at}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read(out_dir.join("vectors.json")).expect("vectors.json")
        })
        .collect();
    assert!(made.windows(2).all(|w| w[0] == w[1]), "the same vectors");
    let out = vectors(&[
        "--out",
        dir.path().to_str().expect("utf-8"),
        "--at",
        "2027-02-30",
    ]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("\"2027-02-30\" is not a time"), "{text}");
}

/// The expected members of `case` that `verify --json` prints (all but `holder_key`), each
/// compared with what the gateway answered.
fn assert_matches(case: &serde_json::Value, answer: &serde_json::Value) {
    let name = &case["name"];
    for (member, want) in case["expected"].as_object().expect("expected") {
        if member == "holder_key" {
            continue;
        }
        assert_eq!(&answer[member], want, "{name}: {member} in {answer}");
    }
}

/// The gateway online, with Mianyang as a configured partner under the keys the bundle
/// lists, gives the partner and stranger vectors (made for now) the verdicts they expect.
/// Revoked and suspended partner cards are left out: a configured partner's status list
/// reaches a gateway only by federation, and the own cases need the vectors' own key,
/// which no gateway holds; the offline verifier's tests cover both.
#[tokio::test]
async fn the_gateway_online_gives_the_partner_vectors_their_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("vectors");
    let at = crate::fixtures::now().to_string();
    let out = vectors(&["--out", made.to_str().expect("utf-8"), "--at", &at]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = std::fs::read_to_string(made.join("bundle.jwt")).expect("bundle");
    let payload = bundle.trim().split('.').nth(1).expect("payload");
    let claims: serde_json::Value = {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let partner = claims["issuers"]
        .as_array()
        .expect("issuers")
        .iter()
        .find(|i| i["region"] == "mianyang")
        .expect("Mianyang in the bundle");
    let jwks = dir.path().join("mianyang-jwks.json");
    std::fs::write(&jwks, partner["jwks"].to_string()).expect("jwks");
    let config = format!(
        "[[partners]]\nid = \"mianyang\"\nprofile = \"science-city-card-v1\"\nissuer = {}\njwks_file = \"{}\"\n",
        partner["issuer"],
        jwks.display()
    );
    let app = crate::helpers::TestApp::builder()
        .config(&config)
        .spawn()
        .await;
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(made.join("vectors.json")).expect("vectors.json"),
    )
    .expect("JSON");
    let mut checked = 0;
    for case in file["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let online =
            (name.starts_with("partner-") || name.starts_with("sm2-") || name == "unknown-issuer")
                && !matches!(name, "partner-revoked" | "partner-suspended");
        if !online {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
            .args(["verify", "--public", "--json", "--addr", &app.addr, "--ca"])
            .arg(app.certs.join("ca.pem"))
            .arg("--")
            .arg(case["credential"].as_str().expect("credential"))
            .output()
            .expect("verify");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_matches(case, &answer);
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "partner valid (EdDSA, ES256), expired, not yet valid, bad signature; SM2 valid and bad; unknown issuer"
    );
}

/// `verify --offline` over every committed case: the bundle under its trust anchor, each
/// credential at its time, every expected field in the `--json` answer; exit 0 for a valid
/// card, 1 for a refused one, and 2 for the tampered bundle, which does not open.
#[test]
fn verify_offline_gives_every_vector_its_verdict_and_refuses_the_tampered_bundle() {
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(committed().join("vectors.json")).expect("vectors.json"),
    )
    .expect("JSON");
    let path = |member: &str| committed().join(file[member].as_str().expect(member));
    let offline = |bundle: &Path, at: i64, credential: &str| {
        Command::new(env!("CARGO_BIN_EXE_talent-gateway"))
            .arg("verify")
            .arg("--offline")
            .arg(bundle)
            .arg("--trust")
            .arg(path("trust"))
            .args(["--at", &at.to_string(), "--json", "--", credential])
            .output()
            .expect("verify --offline")
    };
    let at = file["at"].as_i64().expect("at");
    let cases = file["cases"].as_array().expect("cases");
    for case in cases {
        let name = &case["name"];
        let when = case["at"].as_i64().unwrap_or(at);
        let out = offline(
            &path("bundle"),
            when,
            case["credential"].as_str().expect("credential"),
        );
        let valid = case["expected"]["valid"].as_bool().expect("valid");
        assert_eq!(
            out.status.code(),
            Some(if valid { 0 } else { 1 }),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_matches(case, &answer);
    }
    let credential = cases[0]["credential"].as_str().expect("credential");
    let out = offline(&path("tampered_bundle"), at, credential);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stdout.is_empty(),
        "no verdict from a bundle that does not open"
    );
}
