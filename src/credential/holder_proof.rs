//! The holder proof on the wire, the SD-JWT key-binding pattern: a small JWT (`typ` kb+jwt)
//! over `nonce`, `aud`, `iat` and `sd_hash` (the hash of the very token presented), signed
//! by the holder's device key (`cnf.jwk`). Parsing and the offline checks; the nonce's single
//! use is the gateway's business (`service/holder_proof.rs`).

use super::jose::{self, Ed25519Key};
use super::{CompactJws, HolderKey, JwsError, b64, strip_qr_prefix};
use ed25519_dalek::{Signature, SigningKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `typ` of a holder proof.
pub const HOLDER_PROOF_TYPE: &str = "kb+jwt";

/// Longest nonce accepted (ours are 54 characters, earlier ones 43).
const MAX_NONCE_CHARS: usize = 128;

/// A proof is a few hundred bytes; anything far larger is not one.
const MAX_PROOF_BYTES: usize = 4096;

/// The claims of a holder proof.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ProofClaims {
    pub(crate) nonce: String,
    pub(crate) aud: String,
    pub(crate) iat: i64,
    pub(crate) sd_hash: String,
}

/// A proof split and read, its signature not yet checked.
#[derive(Debug)]
pub(crate) struct ParsedProof {
    pub(crate) claims: ProofClaims,
    signing_input: String,
    signature: Signature,
    /// The signature part as it came, for jsonwebtoken.
    signature_b64: String,
}

/// What the offline checks compare a proof with.
pub(crate) struct Expected<'a> {
    pub(crate) key: &'a HolderKey,
    /// The presented card token, without its QR prefix.
    pub(crate) token: &'a str,
    /// The first is this gateway's own; any of them is accepted.
    pub(crate) audience: &'a [&'a str],
    pub(crate) now: i64,
    pub(crate) skew: i64,
    /// The oldest `iat` accepted is now - max_age - skew.
    pub(crate) max_age: i64,
}

/// base64url(SHA-256(token)): what `sd_hash` must be for `token`.
pub fn sd_hash(token: &str) -> String {
    b64(Sha256::digest(token.as_bytes()))
}

/// Why a holder proof is refused (the verdict's detail): which part is wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProofError {
    #[error("holder proof is larger than {MAX_PROOF_BYTES} bytes")]
    TooLarge,
    #[error("holder proof: {0}")]
    Structure(#[from] JwsError),
    #[error("holder proof header: crit, jku, x5u, jwk and x5c are refused")]
    UnsupportedHeader,
    #[error("holder proof header: typ must be {HOLDER_PROOF_TYPE}")]
    WrongType,
    #[error("holder proof header: alg {0:?} is not allowed (EdDSA)")]
    AlgorithmNotAllowed(String),
    #[error("holder proof claims must hold nonce, aud, iat (integer) and sd_hash: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("holder proof signature is not 64 bytes")]
    SignatureLength,
    #[error("the card's cnf.jwk is not an Ed25519 key")]
    HolderKey,
    #[error("holder proof signature does not match the card's cnf.jwk")]
    BadSignature,
    #[error("holder proof aud {0:?} is not this gateway ({1:?})")]
    WrongAudience(String, String),
    #[error("holder proof iat is in the future")]
    FromTheFuture,
    #[error("holder proof iat is older than a challenge lives")]
    TooOld,
    #[error("holder proof sd_hash does not match the presented card token")]
    OtherToken,
    #[error("holder proof nonce is empty or too long")]
    BadNonce,
}

/// Reads a proof: structure, header (`typ` kb+jwt, `alg` EdDSA or Ed25519, no key or URL
/// headers) and claims. Says which part is wrong.
pub(crate) fn parse_holder_proof(proof: &str) -> Result<ParsedProof, ProofError> {
    let proof = proof.trim();
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::TooLarge);
    }
    let mut buffer = vec![0u8; CompactJws::buffer_len(proof)];
    let jws = CompactJws::parse(proof, &mut buffer)?;
    if jws.header.has_unsupported_fields() {
        return Err(ProofError::UnsupportedHeader);
    }
    if jws.header.typ.as_deref() != Some(HOLDER_PROOF_TYPE) {
        return Err(ProofError::WrongType);
    }
    if !matches!(&*jws.header.alg, "EdDSA" | "Ed25519") {
        return Err(ProofError::AlgorithmNotAllowed(jws.header.alg.to_string()));
    }
    let claims: ProofClaims = serde_json::from_slice(jws.payload)?;
    let signature =
        Signature::from_slice(jws.signature).map_err(|_| ProofError::SignatureLength)?;
    Ok(ParsedProof {
        signing_input: jws.signing_input.to_owned(),
        claims,
        signature,
        signature_b64: jws.signature_b64.to_owned(),
    })
}

impl ParsedProof {
    /// Every check that needs no database: signature under the card's holder key, audience,
    /// time and the hash of the presented token. The nonce is left for the store.
    pub(crate) fn check(&self, want: &Expected<'_>) -> Result<(), ProofError> {
        let key = want.key.verifying_key().ok_or(ProofError::HolderKey)?;
        if !Ed25519Key::new(&key).verify(
            self.signing_input.as_bytes(),
            &self.signature.to_bytes(),
            &self.signature_b64,
        ) {
            return Err(ProofError::BadSignature);
        }
        let c = &self.claims;
        if !want.audience.contains(&c.aud.as_str()) {
            return Err(ProofError::WrongAudience(
                c.aud.clone(),
                want.audience
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
        if c.iat > want.now + want.skew {
            return Err(ProofError::FromTheFuture);
        }
        if c.iat < want.now - want.max_age - want.skew {
            return Err(ProofError::TooOld);
        }
        if c.sd_hash != sd_hash(want.token) {
            return Err(ProofError::OtherToken);
        }
        if c.nonce.is_empty() || c.nonce.len() > MAX_NONCE_CHARS {
            return Err(ProofError::BadNonce);
        }
        Ok(())
    }
}

/// Signs a holder proof for `credential` (a token or QR payload): what a holder's device
/// does. The gateway itself never holds a holder key; the CLI's `holder prove` uses this.
pub fn sign_holder_proof(
    key: &SigningKey,
    credential: &str,
    nonce: &str,
    audience: &str,
    iat: i64,
) -> String {
    let header = jose::header(jsonwebtoken::Algorithm::EdDSA, HOLDER_PROOF_TYPE, None);
    let claims = serde_json::json!({
        "nonce": nonce,
        "aud": audience,
        "iat": iat,
        "sd_hash": sd_hash(strip_qr_prefix(credential)),
    });
    // A JSON object and an Ed25519 PKCS#8 key: encoding cannot fail.
    jose::sign(&header, &claims, &jose::ed25519_encoding_key(key)).expect("a holder proof signs")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJDUTEifQ.c2ln";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    fn holder() -> HolderKey {
        HolderKey::from_raw(key().verifying_key().as_bytes()).expect("point")
    }

    fn want<'a>(key: &'a HolderKey, token: &'a str) -> Expected<'a> {
        Expected {
            key,
            token,
            audience: &["urn:cn:500000:talent-card"],
            now: 1_800_000_000,
            skew: 60,
            max_age: 120,
        }
    }

    fn signed(header: serde_json::Value, claims: serde_json::Value) -> String {
        crate::credential::sign_compact(&header, claims.to_string().as_bytes(), &key())
    }

    fn claims(iat: i64) -> serde_json::Value {
        serde_json::json!({
            "nonce": "n0nce", "aud": "urn:cn:500000:talent-card", "iat": iat,
            "sd_hash": sd_hash(TOKEN),
        })
    }

    #[test]
    fn a_signed_proof_parses_and_checks() {
        let k = holder();
        let proof = sign_holder_proof(
            &key(),
            &format!("NCTC1:{TOKEN}"),
            "n0nce",
            "urn:cn:500000:talent-card",
            1_800_000_000,
        );
        let p = parse_holder_proof(&proof).expect("parses");
        assert_eq!(p.claims.nonce, "n0nce");
        assert_eq!(p.claims.iat, 1_800_000_000);
        p.check(&want(&k, TOKEN)).expect("checks");
    }

    #[test]
    fn sd_hash_is_base64url_sha256_of_the_token() {
        // SHA-256("abc"), RFC 6234's test vector, in base64url.
        assert_eq!(
            sd_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn header_and_claims_problems_are_named() {
        let ok_header = serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt"});
        let cases = [
            (
                signed(serde_json::json!({"alg": "EdDSA", "typ": "JWT"}), claims(1)),
                "typ",
            ),
            (
                signed(serde_json::json!({"alg": "EdDSA"}), claims(1)),
                "typ",
            ),
            (
                signed(
                    serde_json::json!({"alg": "ES256", "typ": "kb+jwt"}),
                    claims(1),
                ),
                "alg",
            ),
            (
                signed(
                    serde_json::json!({"alg": "none", "typ": "kb+jwt"}),
                    claims(1),
                ),
                "alg",
            ),
            (
                signed(
                    serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt", "jwk": {}}),
                    claims(1),
                ),
                "jwk",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"aud": "a", "iat": 1, "sd_hash": "x"}),
                ),
                "nonce",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"nonce": "n", "aud": "a", "iat": "1", "sd_hash": "x"}),
                ),
                "iat",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"nonce": "n", "aud": ["a"], "iat": 1, "sd_hash": "x"}),
                ),
                "aud",
            ),
            ("a.b".to_owned(), "three parts"),
            ("x".repeat(MAX_PROOF_BYTES + 1), "larger"),
        ];
        for (proof, word) in cases {
            let e = parse_holder_proof(&proof).expect_err(&proof).to_string();
            assert!(e.contains(word), "{e:?} should name {word}");
        }
        let ed = signed(
            serde_json::json!({"alg": "Ed25519", "typ": "kb+jwt"}),
            claims(1),
        );
        assert!(
            parse_holder_proof(&ed).is_ok(),
            "the RFC 9864 name is accepted"
        );
    }

    #[test]
    fn each_offline_check_says_what_failed() {
        let k = holder();
        let t = 1_800_000_000;
        let check = |proof: &str, token: &str| {
            parse_holder_proof(proof)
                .expect("parses")
                .check(&want(&k, token))
                .expect_err("refused")
                .to_string()
        };
        let good = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t);
        assert!(check(&good, "other.token.x").contains("sd_hash"));
        let aud = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:510700:kjc-talent-card", t);
        assert!(check(&aud, TOKEN).contains("aud"));
        let future = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t + 61);
        assert!(check(&future, TOKEN).contains("future"));
        let old = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t - 181);
        assert!(check(&old, TOKEN).contains("older"));
        let other = SigningKey::from_bytes(&[7; 32]);
        let forged = sign_holder_proof(&other, TOKEN, "n", "urn:cn:500000:talent-card", t);
        assert!(check(&forged, TOKEN).contains("signature"));
        let empty = sign_holder_proof(&key(), TOKEN, "", "urn:cn:500000:talent-card", t);
        assert!(check(&empty, TOKEN).contains("nonce"));
        // The edges of the window pass.
        for iat in [t + 60, t - 180] {
            let p = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", iat);
            parse_holder_proof(&p)
                .expect("parses")
                .check(&want(&k, TOKEN))
                .expect("in window");
        }
    }
}
