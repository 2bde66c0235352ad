//! Stateless holder-challenge nonces: CreateChallenge is open to everyone, so it writes
//! nothing. A nonce carries its own expiry and random bits under an HMAC that only the
//! gateway's replicas can make; a row is written only when a proof consumes it (single use
//! across replicas still needs the database).
//!
//! Nonce = base64url(expires_at as 8 bytes big-endian || 16 random bytes || the first 16
//! bytes of HMAC-SHA256(key, the 24 before)): 54 characters.

use crate::credential::b64;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Random bytes in a nonce: 128 bits, the contract's floor; the MAC makes guessing moot.
const RANDOM_BYTES: usize = 16;

/// MAC bytes kept: 128 bits.
const TAG_BYTES: usize = 16;

/// Bytes of a decoded nonce.
const NONCE_BYTES: usize = 8 + RANDOM_BYTES + TAG_BYTES;

/// What the key is derived for, so that the shared secret's other uses never collide.
const LABEL: &[u8] = b"talent-gateway holder-challenge nonce v1";

/// The key that makes and opens nonces; every replica derives the same one.
pub(crate) struct NonceKey(Zeroizing<[u8; 32]>);

impl NonceKey {
    /// Derived from a secret the replicas share (the ID-number hash secret).
    pub(crate) fn derive(shared_secret: &[u8]) -> Self {
        let mut mac = hmac(shared_secret);
        mac.update(LABEL);
        Self(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = hmac(self.0.as_slice());
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// A fresh nonce that expires at `expires_at`.
    pub(crate) fn mint(&self, expires_at: i64) -> String {
        let mut bytes = [0u8; NONCE_BYTES];
        bytes[..8].copy_from_slice(&expires_at.to_be_bytes());
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes[8..8 + RANDOM_BYTES]);
        let tag = self.tag(&bytes[..8 + RANDOM_BYTES]);
        bytes[8 + RANDOM_BYTES..].copy_from_slice(&tag);
        b64(bytes)
    }

    /// The expiry a nonce made by [`NonceKey::mint`] carries; `None` for anything else
    /// (a nonce of an earlier version, stored as a row, or a forgery).
    pub(crate) fn open(&self, nonce: &str) -> Option<i64> {
        let mut bytes = [0u8; NONCE_BYTES];
        let n = URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes).ok()?;
        if n != NONCE_BYTES {
            return None;
        }
        let (body, tag) = bytes.split_at(8 + RANDOM_BYTES);
        let want = self.tag(body);
        // Constant time: the tag must not leak byte by byte.
        let diff = want.iter().zip(tag).fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff != 0 {
            return None;
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&body[..8]);
        Some(i64::from_be_bytes(expiry))
    }
}

fn hmac(key: &[u8]) -> SimpleHmac<Sha256> {
    SimpleHmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_nonce_opens_to_its_expiry_and_nothing_else_does() {
        let key = NonceKey::derive(&[7; 32]);
        let nonce = key.mint(1_800_000_120);
        assert_eq!(nonce.len(), 54);
        assert_eq!(key.open(&nonce), Some(1_800_000_120));
        assert_ne!(key.mint(1_800_000_120), nonce, "random per call");
        // Another replica set's secret, a changed byte, an old-style 43-character nonce.
        assert_eq!(NonceKey::derive(&[8; 32]).open(&nonce), None);
        let mut b = URL_SAFE_NO_PAD.decode(&nonce).expect("b64");
        b[3] ^= 1;
        assert_eq!(key.open(&b64(&b)), None, "a moved expiry breaks the tag");
        assert_eq!(key.open(&b64([0u8; 32])), None);
        assert_eq!(key.open("not base64 !"), None);
        assert_eq!(key.open(""), None);
    }
}
