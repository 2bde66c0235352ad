//! An offline bundle as a device reads it: the trust anchor, then the bundle opened against
//! it. The first byte picks what the rest is. Odd: a whole bundle as received (checked up to
//! and including the signature, which fuzzed bytes will not pass). Even: the bundle's claims,
//! signed here with the shared vectors' public test key so the fuzzer reaches everything
//! after the signature (issuers, keys, status lists, catalogue), then a vector verified
//! against what opened.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use talent_verifier::bundle::{Anchor, OfflineBundle};

const TRUST: &str = include_str!("../../tests/vectors/trust.jwks.json");
const CARD: &str = include_str!("../../tests/vectors/vectors.json");

/// The vectors' own key: the seed label and derivation of src/cli/vectors/keys.rs.
static SIGNER: LazyLock<talent_verifier::credential::IssuerKey> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"talent-gateway test vectors, public test key: ");
    h.update(b"chongqing own key 2");
    h.update([0u8]);
    let key = ed25519_dalek::SigningKey::from_bytes(&h.finalize().into());
    talent_verifier::credential::IssuerKey::new(key)
});

static ANCHOR: LazyLock<Anchor> =
    LazyLock::new(|| Anchor::parse(TRUST).expect("the vectors' trust anchor parses"));

/// The first case's credential in vectors.json (an own valid card).
static CREDENTIAL: LazyLock<String> = LazyLock::new(|| {
    let vectors: serde_json::Value = serde_json::from_str(CARD).expect("vectors.json parses");
    vectors["cases"][0]["credential"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 1 {
        let _ = Anchor::parse(text);
        let _ = OfflineBundle::open(text, &ANCHOR);
        return;
    }
    let header = serde_json::json!({
        "typ": "trust-bundle+jwt",
        "alg": "EdDSA",
        "kid": SIGNER.kid(),
    });
    let bundle = talent_verifier::credential::sign_compact(&header, rest, SIGNER.signing_key());
    if let Ok(opened) = OfflineBundle::open(&bundle, &ANCHOR) {
        let _ = opened.verify(&CREDENTIAL, 1_798_761_600);
        // A bundle that opens anchors the next one, as an earlier bundle does on a device.
        let _ = Anchor::parse(&bundle);
    }
});
