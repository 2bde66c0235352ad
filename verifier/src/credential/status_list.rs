//! IETF Token Status List (draft-ietf-oauth-status-list): 2 bits per card, zlib-compressed,
//! published as a JWT signed by the issuer key.

use super::jws::{b64, b64_decode};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use std::io::{Read, Write};

/// Bits per entry: valid, revoked (invalid), suspended.
pub const STATUS_BITS: u8 = 2;

/// A status list could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum StatusListError {
    /// Not base64url, not zlib, or larger than allowed.
    #[error("status list is malformed: {0}")]
    Malformed(&'static str),
}

/// The statuses of `capacity` entries, 2 bits each, packed as the draft lays them out
/// (entry i in byte i/4, least significant bits first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl StatusList {
    /// An all-valid list of `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            bytes: vec![0; capacity.div_ceil(4)],
        }
    }

    /// How many entries the list holds.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.bytes.len() * 4
    }

    /// The value of entry `idx` (0 beyond the end: never listed means valid is wrong, so
    /// callers check `idx < capacity` first).
    #[inline]
    pub fn get(&self, idx: usize) -> u8 {
        self.bytes
            .get(idx / 4)
            .map_or(0, |b| (b >> ((idx % 4) * 2)) & 0b11)
    }

    /// Sets entry `idx` to `value` (2 bits); out of range does nothing.
    pub fn set(&mut self, idx: usize, value: u8) {
        if let Some(b) = self.bytes.get_mut(idx / 4) {
            let shift = (idx % 4) * 2;
            *b = (*b & !(0b11 << shift)) | ((value & 0b11) << shift);
        }
    }

    /// The `lst` member: zlib at best compression, base64url.
    pub fn encode(&self) -> String {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&self.bytes);
        b64(z.finish().unwrap_or_default())
    }

    /// Decodes a `lst` member, refusing lists larger than `max_bytes` once inflated.
    pub fn decode(lst: &str, max_bytes: usize) -> Result<Self, StatusListError> {
        let compressed =
            b64_decode(lst).map_err(|_| StatusListError::Malformed("lst is not base64url"))?;
        let mut bytes = Vec::new();
        ZlibDecoder::new(compressed.as_slice())
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| StatusListError::Malformed("lst is not zlib"))?;
        if bytes.len() > max_bytes {
            return Err(StatusListError::Malformed("lst inflates past the limit"));
        }
        Ok(Self { bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_the_encoding() {
        let mut l = StatusList::new(1 << 20);
        l.set(0, 1);
        l.set(5, 2);
        l.set((1 << 20) - 1, 3);
        let back = StatusList::decode(&l.encode(), 1 << 20).expect("decodes");
        assert_eq!(back.get(0), 1);
        assert_eq!(back.get(5), 2);
        assert_eq!(back.get(4), 0);
        assert_eq!(back.get((1 << 20) - 1), 3);
    }

    #[test]
    fn a_million_cards_fit_in_a_few_hundred_kib() {
        let mut l = StatusList::new(1_048_576);
        // A realistic worst case: one card in twenty revoked or suspended, spread at random.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            l.set((x % 1_048_576) as usize, 1 + (x % 2) as u8);
        }
        assert!(l.encode().len() < 300 * 1024, "{}", l.encode().len());
    }

    #[test]
    fn a_zip_bomb_is_refused() {
        let l = StatusList::new(8 << 20);
        assert!(StatusList::decode(&l.encode(), 1 << 20).is_err());
    }
}
