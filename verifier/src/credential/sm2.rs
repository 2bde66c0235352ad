//! SM2 signatures (GM/T 0003) over SM3 (GM/T 0004) in JOSE, as DESIGN.md settles them:
//! header `alg` `SM2`, the signature over `ZA || input` with the GM/T 0009 default
//! distinguishing ID, `r || s` in 64 bytes; JWK `{"kty":"EC","crv":"SM2","x","y"}`; kid the
//! RFC 7638 thumbprint over `crv`, `kty`, `x`, `y`.
//!
//! Hand-written beside `jose.rs`: jsonwebtoken knows no SM2.

use super::jws::b64;
use sha2::{Digest, Sha256};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// The JWS `alg` of an SM2 signature.
pub const SM2_ALG: &str = "SM2";
/// The GM/T 0009 default distinguishing ID, what every SM2 key here signs and verifies with
/// (and what Python gmssl's `sign_with_sm3`/`verify_with_sm3` use).
pub const SM2_DEFAULT_ID: &str = "1234567812345678";
/// Length of an SM2 public key as stored: an uncompressed SEC1 point (`04 || x || y`).
pub const SM2_PUBLIC_LEN: usize = 65;

/// The affine coordinates of a public key, 32 bytes each.
fn coordinates(key: &VerifyingKey) -> ([u8; 32], [u8; 32]) {
    let sec1 = key.to_sec1_bytes();
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    // An SM2 public key is never the identity: its uncompressed point is 65 bytes.
    if sec1.len() == SM2_PUBLIC_LEN {
        x.copy_from_slice(&sec1[1..33]);
        y.copy_from_slice(&sec1[33..]);
    }
    (x, y)
}

/// A public key from its JWK coordinates; None when they are not a point of the curve.
pub fn sm2_public_key(x: &[u8], y: &[u8]) -> Option<VerifyingKey> {
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut sec1 = [0u8; SM2_PUBLIC_LEN];
    sec1[0] = 4;
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    VerifyingKey::from_sec1_bytes(SM2_DEFAULT_ID, &sec1).ok()
}

/// A public key as stored (an uncompressed SEC1 point).
pub fn sm2_public_key_from_sec1(bytes: &[u8]) -> Option<VerifyingKey> {
    if bytes.len() != SM2_PUBLIC_LEN {
        return None;
    }
    VerifyingKey::from_sec1_bytes(SM2_DEFAULT_ID, bytes).ok()
}

/// RFC 7638 thumbprint of an SM2 public key: anyone can recompute it from the JWK.
pub fn sm2_thumbprint(key: &VerifyingKey) -> String {
    let (x, y) = coordinates(key);
    // Members in lexicographic order, no whitespace (RFC 7638 section 3).
    let canonical = format!(
        r#"{{"crv":"SM2","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(x),
        b64(y)
    );
    b64(Sha256::digest(canonical.as_bytes()))
}

/// The public JWK of an SM2 key with its kid.
pub fn sm2_public_jwk(key: &VerifyingKey) -> serde_json::Value {
    let (x, y) = coordinates(key);
    serde_json::json!({
        "kty": "EC",
        "crv": "SM2",
        "x": b64(x),
        "y": b64(y),
        "kid": sm2_thumbprint(key),
        "alg": SM2_ALG,
        "use": "sig",
    })
}

/// Checks an SM2 signature (`r || s`, 64 bytes) over `input` under the default ID.
pub fn sm2_verify(key: &VerifyingKey, input: &[u8], signature: &[u8]) -> bool {
    signature.len() == 64
        && Signature::from_slice(signature).is_ok_and(|s| key.verify(input, &s).is_ok())
}

/// An own SM2 signing key and its kid, parsed once.
#[derive(Clone)]
pub struct Sm2IssuerKey {
    kid: String,
    signing: SigningKey,
}

impl Sm2IssuerKey {
    /// A key from its 32-byte secret scalar; None when the bytes are not a valid scalar.
    pub fn from_secret(secret: &[u8]) -> Option<Self> {
        let signing = SigningKey::from_slice(SM2_DEFAULT_ID, secret).ok()?;
        let kid = sm2_thumbprint(signing.verifying_key());
        Some(Self { kid, signing })
    }

    /// Draws a fresh key from the operating system's generator.
    pub fn generate() -> Self {
        use rand_core::RngCore;
        loop {
            let mut secret = Zeroizing::new([0u8; 32]);
            rand_core::OsRng.fill_bytes(secret.as_mut_slice());
            // Out of range (zero or past the order) about once in 2^32 draws: draw again.
            if let Some(key) = Self::from_secret(secret.as_slice()) {
                return key;
            }
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public half as stored (uncompressed SEC1).
    pub fn public_bytes(&self) -> Vec<u8> {
        self.verifying_key().to_sec1_bytes().to_vec()
    }

    /// The secret scalar, for sealing.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.signing.to_bytes().to_vec())
    }

    /// Signs `input` (a JWS signing input): `r || s`.
    pub fn sign(&self, input: &[u8]) -> [u8; 64] {
        let signature: Signature = self.signing.sign(input);
        let mut out = [0u8; 64];
        out.copy_from_slice(&signature.to_bytes());
        out
    }
}

impl std::fmt::Debug for Sm2IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2IssuerKey({})", self.kid)
    }
}

/// Signs a header given as JSON and raw claim bytes with an SM2 key into a compact JWS
/// (the SM2 sibling of `jose::sign_compact`).
pub fn sm2_sign_compact(header: &serde_json::Value, claims: &[u8], key: &Sm2IssuerKey) -> String {
    let mut out = b64(header.to_string());
    out.push('.');
    out.push_str(&b64(claims));
    let signature = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64(signature));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_64_bytes_and_verifies_under_the_published_jwk() {
        let key = Sm2IssuerKey::generate();
        let jwk = sm2_public_jwk(key.verifying_key());
        assert_eq!(jwk["kid"], key.kid());
        let part =
            |m: &str| super::super::b64_decode(jwk[m].as_str().expect("member")).expect("b64url");
        let public = sm2_public_key(&part("x"), &part("y")).expect("a point");
        let token = sm2_sign_compact(
            &serde_json::json!({"alg": "SM2", "kid": key.kid()}),
            b"{}",
            &key,
        );
        let (input, sig) = token.rsplit_once('.').expect("three parts");
        let sig = super::super::b64_decode(sig).expect("b64");
        assert_eq!(sig.len(), 64);
        assert!(sm2_verify(&public, input.as_bytes(), &sig));
        assert!(!sm2_verify(&public, b"other", &sig));
        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        assert!(!sm2_verify(&public, input.as_bytes(), &flipped));
        assert!(!sm2_verify(&public, input.as_bytes(), &sig[..63]));
    }

    #[test]
    fn a_key_survives_its_stored_form() {
        let key = Sm2IssuerKey::generate();
        let again = Sm2IssuerKey::from_secret(&key.secret_bytes()).expect("a scalar");
        assert_eq!(again.kid(), key.kid());
        let public = sm2_public_key_from_sec1(&key.public_bytes()).expect("a point");
        assert_eq!(sm2_thumbprint(&public), key.kid());
        assert!(Sm2IssuerKey::from_secret(&[0; 32]).is_none());
        assert!(Sm2IssuerKey::from_secret(&[0xff; 32]).is_none());
    }

    #[test]
    fn scalars_out_of_range_are_refused_without_a_panic() {
        let key = Sm2IssuerKey::generate();
        let n = hex(b"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");
        let mut n_less_1 = n.clone();
        n_less_1[31] -= 1;
        let one = {
            let mut b = vec![0u8; 32];
            b[31] = 1;
            b
        };
        let sig = key.sign(b"input");
        let (r, s) = sig.split_at(32);
        let zero = [0u8; 32];
        let ones = [0xffu8; 32];
        for (why, r, s) in [
            ("r zero", &zero[..], s),
            ("s zero", r, &zero[..]),
            ("r the order", &n[..], s),
            ("s the order", r, &n[..]),
            ("r all ones", &ones[..], s),
            ("s all ones", r, &ones[..]),
            // GM/T 0003.2 step B5: t = (r + s) mod n must not be 0.
            ("r + s the order", &one[..], &n_less_1[..]),
        ] {
            let forged = [r, s].concat();
            assert!(!sm2_verify(key.verifying_key(), b"input", &forged), "{why}");
        }
        assert!(sm2_verify(key.verifying_key(), b"input", &sig));
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        let key = Sm2IssuerKey::generate();
        let public = key.public_bytes();
        let mut y = public[33..].to_vec();
        y[31] ^= 1;
        assert!(sm2_public_key(&public[1..33], &y).is_none());
        assert!(sm2_public_key(&public[1..33], &public[33..]).is_some());
        assert!(sm2_public_key(&public[1..32], &public[33..]).is_none());
    }

    #[test]
    fn the_gm_t_0003_example_key_gives_the_standards_public_key() {
        // GM/T 0003.5 annex A.2: the example private key on the recommended curve and the x
        // of its public key as the standard prints it.
        let key = Sm2IssuerKey::from_secret(&hex(
            b"3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8",
        ))
        .expect("the reference scalar");
        let public = key.public_bytes();
        assert_eq!(
            &public[1..33],
            hex(b"09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020").as_slice()
        );
        let sig = key.sign(b"message digest");
        assert!(sm2_verify(key.verifying_key(), b"message digest", &sig));
    }

    fn hex(s: &[u8]) -> Vec<u8> {
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
            .collect()
    }
}
