//! The one door to `jsonwebtoken`, the JOSE library: it signs every JWS the gateway makes
//! (cards, status lists, counter tokens, holder proofs) and checks every signature that is
//! not batched (partner tokens and status lists, counter tokens, holder proofs).
//!
//! What stays ours: the strict reading of headers and members before the signature
//! (`json_scan`, `jws`), which jsonwebtoken does not do (it parses with serde, last duplicate
//! wins, no caps), and the batch verification of own cards (`signature_pool`, `verification`).

use super::jws::b64;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

/// A token could not be signed: the key does not fit the algorithm, or the claims do not
/// serialise (neither happens with the keys and claims the gateway makes).
#[derive(Debug, thiserror::Error)]
#[error("signing a JWS failed: {0}")]
pub struct SignError(#[from] jsonwebtoken::errors::Error);

/// The form jsonwebtoken signs with: PKCS#8 DER of an Ed25519 private key.
pub fn ed25519_encoding_key(key: &SigningKey) -> EncodingKey {
    // PKCS#8 of a 32-byte seed is a fixed 48-byte structure: encoding cannot fail.
    let der = key
        .to_pkcs8_der()
        .expect("an Ed25519 seed encodes as PKCS#8");
    EncodingKey::from_ed_der(der.as_bytes())
}

/// The header of every JWS we make: `alg`, `typ`, and `kid` where a verifier picks the key
/// by it. Nothing else: no key or URL headers.
pub fn header(alg: Algorithm, typ: &str, kid: Option<&str>) -> Header {
    let mut h = Header::new(alg);
    h.typ = Some(typ.to_owned());
    h.kid = kid.map(str::to_owned);
    h
}

/// Signs `claims` under `header` into a compact JWS.
pub fn sign(
    header: &Header,
    claims: &impl Serialize,
    key: &EncodingKey,
) -> Result<String, SignError> {
    Ok(jsonwebtoken::encode(header, claims, key)?)
}

/// Signs a header given as JSON (any members, in the order given) and raw claim bytes with
/// an Ed25519 key: jsonwebtoken's `Header` cannot carry the odd members tests and
/// benchmarks put in forged tokens, so the parts are joined here and jsonwebtoken signs them.
pub fn sign_compact(header: &serde_json::Value, claims: &[u8], key: &SigningKey) -> String {
    let mut out = b64(header.to_string());
    out.push('.');
    out.push_str(&b64(claims));
    let signature =
        jsonwebtoken::crypto::sign(out.as_bytes(), &ed25519_encoding_key(key), Algorithm::EdDSA)
            .expect("an Ed25519 PKCS#8 key signs");
    out.push('.');
    out.push_str(&signature);
    out
}

/// What a signature check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The signature holds.
    Valid,
    /// It does not.
    Invalid,
    /// The signature part is not base64url.
    NotBase64,
}

/// Checks a JWS signature with jsonwebtoken: `signature` is the third part as it came,
/// `input` the first two with their dot.
pub fn verify(input: &[u8], signature: &str, key: &DecodingKey, alg: Algorithm) -> Checked {
    match jsonwebtoken::crypto::verify(signature, input, key, alg) {
        Ok(true) => Checked::Valid,
        Ok(false) => Checked::Invalid,
        Err(e) if matches!(e.kind(), ErrorKind::Base64(_)) => Checked::NotBase64,
        Err(_) => Checked::Invalid,
    }
}

/// An Ed25519 public key for jsonwebtoken, with what `verify_strict` would refuse of it.
#[derive(Debug, Clone)]
pub struct Ed25519Key {
    decoding: DecodingKey,
    /// A small-order key: anyone can forge signatures that the plain check accepts.
    weak: bool,
}

impl Ed25519Key {
    /// Wraps a public key (checked once here, not per signature).
    pub fn new(key: &VerifyingKey) -> Self {
        Self {
            decoding: DecodingKey::from_ed_der(key.as_bytes()),
            weak: key.is_weak(),
        }
    }

    /// `verify_strict`'s verdict, the signature checked by jsonwebtoken. `signature` is the
    /// decoded third part, `signature_b64` the same as it came.
    pub fn verify(&self, input: &[u8], signature: &[u8], signature_b64: &str) -> bool {
        // jsonwebtoken's EdDSA calls ed25519-dalek's plain `verify`, which accepts small-order
        // keys and small-order R; `verify_strict` (our rule, and the batch's) refuses both.
        if self.weak || signature.len() != 64 || small_order_r(&signature[..32]) {
            return false;
        }
        verify(input, signature_b64, &self.decoding, Algorithm::EdDSA) == Checked::Valid
    }
}

/// True when the signature's R is a point of small order (refused as `verify_strict` does).
fn small_order_r(r: &[u8]) -> bool {
    <[u8; 32]>::try_from(r)
        .ok()
        .and_then(|r| VerifyingKey::from_bytes(&r).ok())
        .is_some_and(|r| r.is_weak())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    #[test]
    fn jsonwebtoken_signs_what_verify_strict_accepts() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let t = sign(
            &header(Algorithm::EdDSA, "x+jwt", Some("k")),
            &serde_json::json!({"a": 1}),
            &ed25519_encoding_key(&key),
        )
        .expect("signed");
        let (input, s) = t.rsplit_once('.').expect("three parts");
        let sig = super::super::b64_decode(s).expect("b64");
        let signature = ed25519_dalek::Signature::from_slice(&sig).expect("64 bytes");
        assert!(
            key.verifying_key()
                .verify_strict(input.as_bytes(), &signature)
                .is_ok()
        );
        let jwt = Ed25519Key::new(&key.verifying_key());
        assert!(jwt.verify(input.as_bytes(), &sig, s));
        assert!(!jwt.verify(b"other", &sig, s));
        // The same bytes as the hand-written signer made (Ed25519 is deterministic).
        assert_eq!(b64(key.sign(input.as_bytes()).to_bytes()), s);
    }

    #[test]
    fn small_order_keys_and_r_are_refused_as_verify_strict_does() {
        // The identity point: a small-order key under which s = 0, R = identity verifies
        // with the plain check for any message.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).expect("a point");
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        let sig_b64 = b64(sig);
        let plain = ed25519_dalek::Signature::from_bytes(&sig);
        use ed25519_dalek::Verifier;
        assert!(
            weak.verify(b"anything", &plain).is_ok(),
            "the plain check accepts"
        );
        assert!(weak.verify_strict(b"anything", &plain).is_err());
        assert!(!Ed25519Key::new(&weak).verify(b"anything", &sig, &sig_b64));
        assert!(small_order_r(&identity));
        let honest = SigningKey::from_bytes(&[3; 32]).verifying_key();
        assert!(!small_order_r(honest.as_bytes()));
    }

    #[test]
    fn a_signature_that_is_not_base64url_is_told_apart() {
        let key = DecodingKey::from_secret(&[1; 32]);
        assert_eq!(
            verify(b"a.b", "!!", &key, Algorithm::HS256),
            Checked::NotBase64
        );
        assert_eq!(
            verify(b"a.b", "AAAA", &key, Algorithm::HS256),
            Checked::Invalid
        );
    }
}
