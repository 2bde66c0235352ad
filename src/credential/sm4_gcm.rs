//! SM4-GCM (GM/T 0002 SM4 in GCM mode, 12-byte nonce), one more sealing algorithm for
//! private keys at rest (`key_sealing = "SM4-GCM"`).
//!
//! SM4 takes a 128-bit key and key-encryption keys are 256 bits: the SM4 key is the first
//! 16 bytes of SM3 over a fixed label and the key-encryption key, so the same configured key
//! serves either algorithm without its bytes being used as two different keys.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use sm3::Digest;
use zeroize::Zeroizing;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// Nonce length of SM4-GCM as sealed here.
pub(super) const NONCE_LEN: usize = 12;

fn cipher(kek: &[u8; 32]) -> Sm4Gcm {
    let mut h = sm3::Sm3::new();
    h.update(b"talent-gateway key sealing SM4-GCM v1");
    h.update(kek);
    let digest = Zeroizing::new(h.finalize());
    Sm4Gcm::new_from_slice(&digest[..16]).unwrap_or_else(|_| unreachable!("16 bytes"))
}

/// A random nonce and the ciphertext with its tag, `aad` authenticated.
pub(super) fn seal(kek: &[u8; 32], secret: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce = Sm4Gcm::generate_nonce(&mut rand::rngs::OsRng);
    let sealed = cipher(kek)
        .encrypt(&nonce, Payload { msg: secret, aad })
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] made, or None.
pub(super) fn open(
    kek: &[u8; 32],
    nonce_and_body: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if nonce_and_body.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = nonce_and_body.split_at(NONCE_LEN);
    cipher(kek)
        .decrypt(nonce.into(), Payload { msg: body, aad })
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm4_is_the_gb_t_32907_block_cipher() {
        // GB/T 32907-2016 appendix A.1: one block under the example key.
        use sm4::cipher::{BlockEncrypt, KeyInit as _, generic_array::GenericArray};
        let key = hex("0123456789abcdeffedcba9876543210");
        let sm4 = sm4::Sm4::new_from_slice(&key).expect("16 bytes");
        let mut block = GenericArray::clone_from_slice(&key);
        sm4.encrypt_block(&mut block);
        assert_eq!(block.as_slice(), hex("681edf34d206965e86b3e94f536e4246"));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_the_same_key_and_aad() {
        let sealed = seal(&[1; 32], b"secret", b"kid");
        assert_eq!(sealed.len(), 12 + 6 + 16);
        assert_eq!(
            open(&[1; 32], &sealed, b"kid").expect("opens").as_slice(),
            b"secret"
        );
        assert!(open(&[1; 32], &sealed, b"other").is_none());
        assert!(open(&[2; 32], &sealed, b"kid").is_none());
        let mut changed = sealed.clone();
        changed[14] ^= 1;
        assert!(open(&[1; 32], &changed, b"kid").is_none());
        assert!(open(&[1; 32], &sealed[..11], b"kid").is_none());
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }
}
