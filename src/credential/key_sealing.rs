//! Private keys at rest are sealed with ChaCha20-Poly1305 under a key-encryption key that
//! comes from configuration (or a 0600 file on a single machine).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;

/// Sealing or opening failed: a wrong key-encryption key, or a damaged record.
#[derive(Debug, thiserror::Error)]
#[error("cannot open a sealed key: wrong key-encryption key or damaged record")]
pub struct SealError;

/// The 32-byte key-encryption key.
pub struct KeyEncryptionKey(Zeroizing<[u8; 32]>);

impl KeyEncryptionKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.as_slice()))
    }

    /// Seals `secret`, bound to `label` (the kid) so records cannot be swapped.
    pub fn seal(&self, secret: &[u8], label: &str) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut rand::rngs::OsRng);
        let mut out = nonce.to_vec();
        let sealed = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: label.as_bytes(),
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what `seal` made under the same label.
    pub fn open(&self, sealed: &[u8], label: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: label.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_kek_and_label() {
        let kek = KeyEncryptionKey::from_bytes([1; 32]);
        let sealed = kek.seal(b"secret", "kid-1");
        assert_eq!(
            kek.open(&sealed, "kid-1").expect("opens").as_slice(),
            b"secret"
        );
        assert!(kek.open(&sealed, "kid-2").is_err());
        assert!(
            KeyEncryptionKey::from_bytes([2; 32])
                .open(&sealed, "kid-1")
                .is_err()
        );
    }
}
