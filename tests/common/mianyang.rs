//! The partner's issuing office, as Mianyang would run it: Science City cards signed here
//! with ed25519-dalek and p256 directly (never the gateway's signing code), and the JWKS file
//! a gateway is configured to trust them by.

use crate::fixtures::{b64, now};
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};

/// The Science City issuer Mianyang signs as.
pub(crate) const ISSUER: &str = "urn:cn:510700:kjc-talent-card";

/// The partner's issuing office, as Mianyang would run it.
pub(crate) struct Mianyang {
    pub(crate) ed: ed25519_dalek::SigningKey,
    pub(crate) ec: p256::ecdsa::SigningKey,
    pub(crate) jwks_path: std::path::PathBuf,
}

impl Mianyang {
    pub(crate) fn new(dir: &std::path::Path) -> Self {
        let m = Self {
            ed: ed25519_dalek::SigningKey::from_bytes(&rand::random()),
            ec: p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng),
            jwks_path: dir.join("mianyang-jwks.json"),
        };
        m.publish(&[("my-ed-1", &m.ed)]);
        m
    }

    pub(crate) fn jwk_ed(kid: &str, key: &ed25519_dalek::SigningKey) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()), "kid": kid, "alg": "EdDSA", "use": "sig"})
    }

    pub(crate) fn jwk_ec(&self) -> Value {
        let p = self.ec.verifying_key().to_encoded_point(false);
        json!({"kty": "EC", "crv": "P-256", "x": b64(p.x().expect("x")), "y": b64(p.y().expect("y")), "kid": "my-ec-1", "alg": "ES256"})
    }

    /// Publishes these Ed25519 keys, and the P-256 one, as the JWKS file.
    pub(crate) fn publish(&self, eds: &[(&str, &ed25519_dalek::SigningKey)]) {
        let mut keys: Vec<Value> = eds.iter().map(|(kid, k)| Self::jwk_ed(kid, k)).collect();
        keys.push(self.jwk_ec());
        std::fs::write(&self.jwks_path, json!({ "keys": keys }).to_string()).expect("write jwks");
    }

    pub(crate) fn config(&self) -> String {
        format!(
            "[[partners]]\nid = \"mianyang\"\nprofile = \"science-city-card-v1\"\nissuer = \"{ISSUER}\"\njwks_file = \"{}\"\n",
            self.jwks_path.display()
        )
    }

    pub(crate) fn claims(level: &str) -> Value {
        let t = now();
        json!({"iss": ISSUER, "card_no": "KJC0000000042", "holder_name": "李雪", "level": level, "iat": t - 60, "nbf": t - 60, "exp": t + 3600})
    }

    pub(crate) fn sign_ed(
        header: &Value,
        claims: &Value,
        key: &ed25519_dalek::SigningKey,
    ) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    }

    pub(crate) fn token(&self, claims: &Value) -> String {
        Self::sign_ed(
            &json!({"alg": "EdDSA", "kid": "my-ed-1", "typ": "JWT"}),
            claims,
            &self.ed,
        )
    }

    pub(crate) fn token_es256(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "kid": "my-ec-1", "typ": "JWT"});
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig: p256::ecdsa::Signature = self.ec.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    }
}
