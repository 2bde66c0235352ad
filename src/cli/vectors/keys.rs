//! The vectors' keys, drawn from fixed seeds so the files are the same on every run for one
//! `--at`. Anyone can recompute them from this file: they are public test keys, and no real
//! gateway may ever trust them.

use crate::credential::{IssuerKey, OwnSigningKey, Sm2IssuerKey, b64, sign_compact};
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// 32 bytes from a label: the seed of one test key.
pub(super) fn seed(label: &str, attempt: u8) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"talent-gateway test vectors, public test key: ");
    h.update(label.as_bytes());
    h.update([attempt]);
    h.finalize().into()
}

/// A test key of one of the algorithms a bundle carries.
pub(super) enum TestKey {
    /// Ed25519 or SM2, the algorithms own keys sign with.
    Own(OwnSigningKey),
    /// ECDSA P-256 (ES256), which partners may use.
    Es256 {
        key: p256::ecdsa::SigningKey,
        kid: String,
    },
}

impl TestKey {
    /// An Ed25519 key from the seed `label`.
    pub(super) fn ed25519(label: &str) -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed(label, 0));
        Self::Own(OwnSigningKey::Ed25519(IssuerKey::new(signing)))
    }

    /// An SM2 key from the seed `label` (the next seed when one is out of range).
    pub(super) fn sm2(label: &str) -> Self {
        let key = (0..=u8::MAX)
            .find_map(|attempt| Sm2IssuerKey::from_secret(&seed(label, attempt)))
            .expect("one of 256 seeds is an SM2 scalar");
        Self::Own(OwnSigningKey::Sm2(key))
    }

    /// A P-256 key from the seed `label` (the next seed when one is out of range).
    pub(super) fn es256(label: &str) -> Self {
        let key = (0..=u8::MAX)
            .find_map(|attempt| p256::ecdsa::SigningKey::from_slice(&seed(label, attempt)).ok())
            .expect("one of 256 seeds is a P-256 scalar");
        let kid = p256_thumbprint(&key);
        Self::Es256 { key, kid }
    }

    /// The key id: the RFC 7638 thumbprint.
    pub(super) fn kid(&self) -> &str {
        match self {
            Self::Own(k) => k.kid(),
            Self::Es256 { kid, .. } => kid,
        }
    }

    /// The JOSE `alg` it signs with.
    pub(super) fn alg(&self) -> &'static str {
        match self {
            Self::Own(k) => k.algorithm().as_str(),
            Self::Es256 { .. } => "ES256",
        }
    }

    /// The public JWK with its kid, as the issuer publishes it.
    pub(super) fn public_jwk(&self) -> Value {
        match self {
            Self::Own(k) => k.public_jwk(),
            Self::Es256 { key, kid } => {
                let (x, y) = p256_coordinates(key);
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"})
            }
        }
    }

    /// The key as the gateway's own signing code takes it (Ed25519 and SM2 only).
    pub(super) fn own(&self) -> Option<&OwnSigningKey> {
        match self {
            Self::Own(k) => Some(k),
            Self::Es256 { .. } => None,
        }
    }

    /// A compact JWS of `payload` under `header` (taken as given: a vector may need a wrong
    /// `typ` or a foreign `iss`).
    pub(super) fn sign(&self, header: &Value, payload: &Value) -> String {
        let claims = payload.to_string();
        match self {
            Self::Own(OwnSigningKey::Ed25519(k)) => {
                sign_compact(header, claims.as_bytes(), k.signing_key())
            }
            Self::Own(OwnSigningKey::Sm2(k)) => {
                crate::credential::sm2_sign_compact(header, claims.as_bytes(), k)
            }
            Self::Es256 { key, .. } => {
                let input = format!("{}.{}", b64(header.to_string()), b64(&claims));
                // RFC 6979 nonces: the same input always gives the same signature.
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                format!("{input}.{}", b64(signature.to_bytes()))
            }
        }
    }

    /// The usual header of a token of `typ` signed by this key.
    pub(super) fn header(&self, typ: &str) -> Value {
        json!({"alg": self.alg(), "kid": self.kid(), "typ": typ})
    }
}

fn p256_coordinates(key: &p256::ecdsa::SigningKey) -> (String, String) {
    let point = key.verifying_key().to_encoded_point(false);
    let x = point.x().map(|x| b64(x.as_slice())).unwrap_or_default();
    let y = point.y().map(|y| b64(y.as_slice())).unwrap_or_default();
    (x, y)
}

/// RFC 7638 thumbprint of a P-256 key.
fn p256_thumbprint(key: &p256::ecdsa::SigningKey) -> String {
    let (x, y) = p256_coordinates(key);
    // Members in lexicographic order, no whitespace (RFC 7638 section 3).
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    b64(Sha256::digest(canonical.as_bytes()))
}

/// A JWS with one bit of its signature flipped: the signature no longer matches, and it is
/// still base64url of the right length.
pub(super) fn break_signature(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap_or((token, ""));
    let mut bytes = crate::credential::b64_decode(signature).unwrap_or_default();
    if let Some(b) = bytes.get_mut(10) {
        *b ^= 0x01;
    }
    format!("{input}.{}", b64(bytes))
}
