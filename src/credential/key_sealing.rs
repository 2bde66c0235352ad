//! Private keys at rest are sealed under key-encryption keys that come from configuration
//! (or a 0600 file on a single machine).
//!
//! A sealed record says how it was sealed, so the keys can be rotated and later algorithms
//! added as one more value:
//!
//! ```text
//! "TG" | version (1) | algorithm (1 = ChaCha20-Poly1305, 2 = SM4-GCM) | id length
//!      | key-encryption key id | nonce (12) | ciphertext and tag
//! ```
//!
//! The header is authenticated with the label (the AEAD's associated data), so neither the
//! key id nor the algorithm can be changed unnoticed. Records of versions before the header
//! (bare nonce and ciphertext under the label alone) stay readable: they are tried under
//! every key of the ring.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const MAGIC: [u8; 2] = *b"TG";
const FORMAT_VERSION: u8 = 1;
/// Longest key-encryption key id (it is stored in one length byte, and shown in errors).
pub const MAX_KEK_ID_LEN: usize = 64;
/// The id of a key given the old way, alone (`key_encryption_key` or the key file).
pub const DEFAULT_KEK_ID: &str = "default";

/// How a record is sealed; stored as one byte after the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SealingAlgorithm {
    /// ChaCha20-Poly1305 (RFC 8439), 12-byte random nonce.
    ChaCha20Poly1305 = 1,
    /// SM4-GCM (GM/T 0002), 12-byte random nonce (`key_sealing = "SM4-GCM"`).
    Sm4Gcm = 2,
}

impl SealingAlgorithm {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::ChaCha20Poly1305),
            2 => Some(Self::Sm4Gcm),
            _ => None,
        }
    }

    /// The configured name (`key_sealing`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChaCha20Poly1305 => "ChaCha20-Poly1305",
            Self::Sm4Gcm => "SM4-GCM",
        }
    }
}

/// `key_sealing` names no sealing algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key_sealing must be \"ChaCha20-Poly1305\" or \"SM4-GCM\", not {0:?}")]
pub struct UnknownSealing(pub String);

impl std::str::FromStr for SealingAlgorithm {
    type Err = UnknownSealing;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ChaCha20-Poly1305" => Ok(Self::ChaCha20Poly1305),
            "SM4-GCM" => Ok(Self::Sm4Gcm),
            other => Err(UnknownSealing(other.to_owned())),
        }
    }
}

/// Sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The record names a key-encryption key the ring does not hold.
    #[error(
        "cannot open a sealed key: it is sealed under key-encryption key `{id}`, which is not \
         configured (configured: {ring}); add it to key_encryption_keys"
    )]
    UnknownKey {
        /// The id the record names.
        id: String,
        /// The configured ids.
        ring: String,
    },
    /// The record uses an algorithm or format this version does not know.
    #[error("cannot open a sealed key: format {version}, algorithm {algorithm} is not known here")]
    UnknownFormat {
        /// Format version byte.
        version: u8,
        /// Algorithm byte.
        algorithm: u8,
    },
    /// No key of the ring opens it.
    #[error(
        "cannot open a sealed key with the configured key-encryption keys ({ring}): \
         wrong keys or a damaged record"
    )]
    NoKeyOpens {
        /// The configured ids.
        ring: String,
    },
}

/// A record's header, when it has one.
struct Header<'a> {
    version: u8,
    algorithm: u8,
    kek_id: &'a str,
    /// The header's bytes (authenticated), and what follows them.
    bytes: &'a [u8],
    body: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(sealed: &'a [u8]) -> Option<Self> {
        let rest = sealed.strip_prefix(MAGIC.as_slice())?;
        let (&version, rest) = rest.split_first()?;
        let (&algorithm, rest) = rest.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if len == 0 || len > MAX_KEK_ID_LEN || rest.len() < len {
            return None;
        }
        let kek_id = std::str::from_utf8(&rest[..len]).ok()?;
        let header_len = MAGIC.len() + 3 + len;
        Some(Self {
            version,
            algorithm,
            kek_id,
            bytes: &sealed[..header_len],
            body: &sealed[header_len..],
        })
    }
}

/// One 32-byte key-encryption key and its id.
pub struct KeyEncryptionKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl KeyEncryptionKey {
    /// Wraps raw key bytes given the old way, alone: its id is `default`.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::with_id(DEFAULT_KEK_ID, bytes)
    }

    /// A key with an id (`key_encryption_keys = ["ID:BASE64"]`). Ids are checked where they
    /// are configured ([`KeyEncryptionKeys::parse`]); a longer one is cut here.
    pub fn with_id(id: &str, bytes: [u8; 32]) -> Self {
        let mut id = id.to_owned();
        while id.len() > MAX_KEK_ID_LEN {
            id.pop();
        }
        Self {
            id,
            key: Zeroizing::new(bytes),
        }
    }

    /// The key's id, as records sealed under it name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw key, from which counter tokens' HMAC key is derived until it is a sealed
    /// key of its own.
    pub fn secret_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.key.as_slice()))
    }

    /// Seals `secret` with ChaCha20-Poly1305, bound to `label` (the kid) so records cannot
    /// be swapped.
    pub fn seal(&self, secret: &[u8], label: &str) -> Vec<u8> {
        self.seal_with(SealingAlgorithm::ChaCha20Poly1305, secret, label)
    }

    /// Seals `secret` with `algorithm`, bound to `label`.
    pub fn seal_with(&self, algorithm: SealingAlgorithm, secret: &[u8], label: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(FORMAT_VERSION);
        out.push(algorithm as u8);
        // with_id keeps ids within MAX_KEK_ID_LEN, so the length fits in one byte.
        out.push(u8::try_from(self.id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.id.as_bytes());
        let mut aad = out.clone();
        aad.extend_from_slice(label.as_bytes());
        if algorithm == SealingAlgorithm::Sm4Gcm {
            out.extend(super::sm4_gcm::seal(&self.key, secret, &aad));
            return out;
        }
        let nonce = ChaCha20Poly1305::generate_nonce(&mut rand::rngs::OsRng);
        let sealed = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what `seal` made under the same label (or a record of an earlier version).
    pub fn open(&self, sealed: &[u8], label: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        open_with(std::slice::from_ref(self), sealed, label)
    }

    fn decrypt(&self, nonce_and_body: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if nonce_and_body.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = nonce_and_body.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

fn ids(keys: &[KeyEncryptionKey]) -> String {
    keys.iter()
        .map(|k| format!("`{}`", k.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens a record under a ring: a header record under the key its header names (whatever
/// its place in the ring), a record of an earlier version under each key in turn.
fn open_with(
    keys: &[KeyEncryptionKey],
    sealed: &[u8],
    label: &str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let mut refusal = None;
    if let Some(h) = Header::parse(sealed) {
        match (h.version, SealingAlgorithm::from_byte(h.algorithm)) {
            (FORMAT_VERSION, Some(algorithm)) => match keys.iter().find(|k| k.id == h.kek_id) {
                Some(k) => {
                    let mut aad = h.bytes.to_vec();
                    aad.extend_from_slice(label.as_bytes());
                    let opened = match algorithm {
                        SealingAlgorithm::ChaCha20Poly1305 => k.decrypt(h.body, &aad),
                        SealingAlgorithm::Sm4Gcm => super::sm4_gcm::open(&k.key, h.body, &aad),
                    };
                    if let Some(secret) = opened {
                        return Ok(secret);
                    }
                }
                None => {
                    refusal = Some(SealError::UnknownKey {
                        id: h.kek_id.to_owned(),
                        ring: ids(keys),
                    });
                }
            },
            (version, _) => {
                refusal = Some(SealError::UnknownFormat {
                    version,
                    algorithm: h.algorithm,
                });
            }
        }
    }
    // An earlier version's record (whose random nonce may even look like a header).
    for k in keys {
        if let Some(secret) = k.decrypt(sealed, label.as_bytes()) {
            return Ok(secret);
        }
    }
    Err(refusal.unwrap_or_else(|| SealError::NoKeyOpens { ring: ids(keys) }))
}

/// A configured key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key_encryption_keys: {0}")]
pub struct KekConfigError(String);

/// The key-encryption keys in force: the first seals (with `sealing`), every one opens.
pub struct KeyEncryptionKeys {
    keys: Vec<KeyEncryptionKey>,
    sealing: SealingAlgorithm,
}

impl KeyEncryptionKeys {
    /// A ring of the given keys, the first sealing; ids must be distinct.
    pub fn new(keys: Vec<KeyEncryptionKey>) -> Result<Self, KekConfigError> {
        if keys.is_empty() {
            return Err(KekConfigError("at least one key is needed".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for k in &keys {
            if !seen.insert(k.id.as_str()) {
                return Err(KekConfigError(format!("the id `{}` is used twice", k.id)));
            }
        }
        Ok(Self {
            keys,
            sealing: SealingAlgorithm::ChaCha20Poly1305,
        })
    }

    /// A ring of one key given the old way (id `default`).
    pub fn single(bytes: [u8; 32]) -> Self {
        Self {
            keys: vec![KeyEncryptionKey::from_bytes(bytes)],
            sealing: SealingAlgorithm::ChaCha20Poly1305,
        }
    }

    /// The same ring sealing new records with `algorithm` (`key_sealing`); records sealed
    /// with any algorithm still open.
    pub fn sealing_with(mut self, algorithm: SealingAlgorithm) -> Self {
        self.sealing = algorithm;
        self
    }

    /// The algorithm new records are sealed with.
    pub fn sealing_algorithm(&self) -> SealingAlgorithm {
        self.sealing
    }

    /// Parses `["ID:BASE64", ...]` (ids of letters, digits, `.`, `_` and `-`; 32-byte keys).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, KekConfigError> {
        use base64::Engine;
        let mut keys = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let entry = entry.as_ref().trim();
            let Some((id, b64)) = entry.split_once(':') else {
                return Err(KekConfigError(format!("entry {} is not ID:BASE64", i + 1)));
            };
            if id.is_empty()
                || id.len() > MAX_KEK_ID_LEN
                || !id
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-_".contains(&c))
            {
                return Err(KekConfigError(format!(
                    "entry {}: the id must be 1 to {MAX_KEK_ID_LEN} letters, digits, `.`, `_` or `-`",
                    i + 1
                )));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| {
                    KekConfigError(format!("key `{id}` is not base64 (entry {})", i + 1))
                })?;
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                KekConfigError(format!("key `{id}` must be 32 bytes (entry {})", i + 1))
            })?;
            keys.push(KeyEncryptionKey::with_id(id, bytes));
        }
        Self::new(keys)
    }

    /// The key that seals.
    pub fn sealing_key(&self) -> &KeyEncryptionKey {
        &self.keys[0]
    }

    /// The ids, in ring order.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `secret` under the first key, bound to `label`.
    pub fn seal(&self, secret: &[u8], label: &str) -> Vec<u8> {
        self.sealing_key().seal_with(self.sealing, secret, label)
    }

    /// Opens a record sealed under any key of the ring (or by an earlier version).
    pub fn open(&self, sealed: &[u8], label: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        open_with(&self.keys, sealed, label)
    }

    /// Is `sealed` already in the current format under the sealing key and algorithm?
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        Header::parse(sealed).is_some_and(|h| {
            h.version == FORMAT_VERSION
                && h.algorithm == self.sealing as u8
                && h.kek_id == self.sealing_key().id
        })
    }

    /// `sealed` sealed anew under the sealing key, or None when it already is (so a rewrap
    /// run twice changes nothing the second time).
    pub fn rewrap(&self, sealed: &[u8], label: &str) -> Result<Option<Vec<u8>>, SealError> {
        // Open first: a header that merely looks current must still open.
        let secret = self.open(sealed, label)?;
        if self.is_current(sealed) {
            return Ok(None);
        }
        Ok(Some(self.seal(&secret, label)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy_seal(key: [u8; 32], secret: &[u8], label: &str) -> Vec<u8> {
        // What versions before the header wrote: nonce || ciphertext, label as AAD.
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
        let nonce = ChaCha20Poly1305::generate_nonce(&mut rand::rngs::OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(
                    &nonce,
                    Payload {
                        msg: secret,
                        aad: label.as_bytes(),
                    },
                )
                .expect("seals"),
        );
        out
    }

    fn ring(entries: &[(&str, u8)]) -> KeyEncryptionKeys {
        KeyEncryptionKeys::new(
            entries
                .iter()
                .map(|(id, b)| KeyEncryptionKey::with_id(id, [*b; 32]))
                .collect(),
        )
        .expect("ring")
    }

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

    #[test]
    fn a_record_names_its_format_algorithm_and_key() {
        let sealed = ring(&[("b-2026", 2), ("a", 1)]).seal(b"secret", "kid");
        assert_eq!(&sealed[..5], b"TG\x01\x01\x06");
        assert_eq!(&sealed[5..11], b"b-2026");
        // 12-byte nonce, 6-byte secret, 16-byte tag.
        assert_eq!(sealed.len(), 11 + 12 + 6 + 16);
        // The header is authenticated: a changed algorithm byte does not open.
        let mut changed = sealed.clone();
        changed[3] = 2;
        assert!(ring(&[("b-2026", 2)]).open(&changed, "kid").is_err());
    }

    #[test]
    fn a_record_of_an_earlier_version_opens_under_any_key_of_the_ring() {
        let legacy = legacy_seal([1; 32], b"secret", "kid-1");
        for r in [ring(&[("a", 1)]), ring(&[("b", 2), ("a", 1)])] {
            assert_eq!(
                r.open(&legacy, "kid-1").expect("opens").as_slice(),
                b"secret"
            );
            assert!(!r.is_current(&legacy));
        }
        assert_eq!(
            KeyEncryptionKeys::single([1; 32])
                .open(&legacy, "kid-1")
                .expect("opens")
                .as_slice(),
            b"secret"
        );
        assert_eq!(
            ring(&[("b", 2)])
                .open(&legacy, "kid-1")
                .expect_err("refused"),
            SealError::NoKeyOpens { ring: "`b`".into() }
        );
    }

    #[test]
    fn a_header_record_opens_with_the_ring_in_either_order() {
        let sealed = ring(&[("b", 2), ("a", 1)]).seal(b"secret", "kid");
        for r in [
            ring(&[("b", 2), ("a", 1)]),
            ring(&[("a", 1), ("b", 2)]),
            ring(&[("b", 2)]),
        ] {
            assert_eq!(r.open(&sealed, "kid").expect("opens").as_slice(), b"secret");
        }
    }

    #[test]
    fn a_ring_without_the_records_key_says_which_key_is_missing() {
        let sealed = ring(&[("b", 2), ("a", 1)]).seal(b"secret", "kid");
        let e = ring(&[("a", 1)]).open(&sealed, "kid").expect_err("refused");
        assert_eq!(
            e,
            SealError::UnknownKey {
                id: "b".into(),
                ring: "`a`".into()
            }
        );
        assert!(e.to_string().contains("key-encryption key `b`"), "{e}");
        // The right id with the wrong bytes: no key opens it.
        let e = ring(&[("b", 9)]).open(&sealed, "kid").expect_err("refused");
        assert!(matches!(e, SealError::NoKeyOpens { .. }), "{e}");
    }

    #[test]
    fn rewrap_moves_records_to_the_sealing_key_once() {
        let legacy = legacy_seal([1; 32], b"secret", "kid");
        let under_a = ring(&[("a", 1)]).seal(b"secret", "kid");
        let r = ring(&[("b", 2), ("a", 1)]);
        for old in [legacy, under_a] {
            let new = r.rewrap(&old, "kid").expect("opens").expect("changed");
            assert!(r.is_current(&new));
            assert_eq!(
                ring(&[("b", 2)])
                    .open(&new, "kid")
                    .expect("opens")
                    .as_slice(),
                b"secret"
            );
            assert_eq!(r.rewrap(&new, "kid").expect("opens"), None);
        }
    }

    #[test]
    fn sm4_gcm_records_open_beside_earlier_ones_and_rewrap_moves_them() {
        let chacha = ring(&[("a", 1)]).seal(b"secret", "kid");
        let legacy = legacy_seal([1; 32], b"secret", "kid");
        let sm4 = ring(&[("a", 1)]).sealing_with(SealingAlgorithm::Sm4Gcm);
        let sealed = sm4.seal(b"secret", "kid");
        assert_eq!(&sealed[..6], b"TG\x01\x02\x01a");
        for r in [
            ring(&[("a", 1)]),
            ring(&[("a", 1)]).sealing_with(SealingAlgorithm::Sm4Gcm),
        ] {
            for record in [&sealed, &chacha, &legacy] {
                assert_eq!(r.open(record, "kid").expect("opens").as_slice(), b"secret");
            }
            assert!(r.open(&sealed, "other").is_err());
        }
        assert!(sm4.is_current(&sealed) && !sm4.is_current(&chacha));
        let moved = sm4.rewrap(&chacha, "kid").expect("opens").expect("changed");
        assert!(sm4.is_current(&moved));
        assert_eq!(sm4.rewrap(&moved, "kid").expect("opens"), None);
        // Back to the default: SM4-GCM records are re-sealed with ChaCha20-Poly1305.
        assert!(
            ring(&[("a", 1)])
                .rewrap(&sealed, "kid")
                .expect("opens")
                .is_some()
        );
        assert_eq!("SM4-GCM".parse(), Ok(SealingAlgorithm::Sm4Gcm));
        assert!("sm4".parse::<SealingAlgorithm>().is_err());
    }

    #[test]
    fn configured_entries_are_parsed_strictly() {
        let k = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let r = KeyEncryptionKeys::parse(&[format!("b:{k}"), format!("a:{k}")]).expect("parses");
        assert_eq!(r.ids(), ["b", "a"]);
        for bad in [
            vec![k.to_owned()],
            vec![format!(":{k}")],
            vec![format!("a b:{k}")],
            vec!["a:bm90IDMyIGJ5dGVz".to_owned()],
            vec![format!("a:{k}"), format!("a:{k}")],
            vec![],
        ] {
            assert!(KeyEncryptionKeys::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
