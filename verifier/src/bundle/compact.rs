//! The bundle's JWS, split and decoded: the header read before the signature, the claims
//! after. One pass over each part; the size is bounded.

use super::{BUNDLE_TYPE, BundleClaims, BundleError};
use crate::credential::b64_decode;
use crate::trust::{Algorithm, PinnedKey};
use serde::Deserialize;

/// Largest bundle read (a bundle with a few full 2^20-entry status lists is a few MiB).
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// Largest header read before the signature.
const MAX_HEADER_BYTES: usize = 4096;

/// The header members a bundle's signature check needs.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    x5c: Option<serde_json::Value>,
}

/// A bundle split into its parts, the header checked, nothing verified yet.
pub(super) struct Compact<'a> {
    pub(super) alg: Algorithm,
    pub(super) alg_name: String,
    pub(super) kid: String,
    input: &'a str,
    payload: &'a str,
    signature_b64: &'a str,
}

impl<'a> Compact<'a> {
    /// Splits `text`, reads and checks the header (typ, refused members, alg, kid).
    pub(super) fn split(text: &'a str) -> Result<Self, BundleError> {
        let text = text.trim();
        if text.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::malformed(format!(
                "over {MAX_BUNDLE_BYTES} bytes"
            )));
        }
        let mut parts = text.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BundleError::malformed("a compact JWS has three parts"));
        };
        if h.len() > MAX_HEADER_BYTES {
            return Err(BundleError::malformed("header too large"));
        }
        let header: RawHeader = b64_decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| BundleError::malformed("header is not a JSON object with alg"))?;
        let typ = header.typ.unwrap_or_default();
        if typ != BUNDLE_TYPE {
            return Err(BundleError::WrongType(typ));
        }
        let refused = [
            ("crit", &header.crit),
            ("jku", &header.jku),
            ("x5u", &header.x5u),
            ("jwk", &header.jwk),
            ("x5c", &header.x5c),
        ];
        if let Some((name, _)) = refused.iter().find(|(_, v)| v.is_some()) {
            return Err(BundleError::malformed(format!(
                "a {name} header is refused, never followed"
            )));
        }
        let alg = Algorithm::from_header(&header.alg).ok_or_else(|| {
            BundleError::malformed(format!("algorithm {:?} is not allowed", header.alg))
        })?;
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or_else(|| BundleError::malformed("header has no kid"))?;
        Ok(Self {
            alg,
            alg_name: header.alg,
            kid,
            input: &text[..h.len() + 1 + p.len()],
            payload: p,
            signature_b64: s,
        })
    }

    /// The signature under `key` (which must be pinned to the header's algorithm).
    pub(super) fn verify(&self, key: &PinnedKey) -> Result<(), BundleError> {
        if key.algorithm() != self.alg {
            return Err(BundleError::AlgorithmMismatch {
                kid: self.kid.clone(),
                alg: self.alg_name.clone(),
            });
        }
        let bad = || BundleError::BadSignature(self.kid.clone());
        let signature = b64_decode(self.signature_b64).map_err(|_| bad())?;
        if key.verify(self.input.as_bytes(), &signature, self.signature_b64) {
            Ok(())
        } else {
            Err(bad())
        }
    }

    /// The claims (read only once the signature holds, or for an anchor already trusted).
    pub(super) fn claims(&self) -> Result<BundleClaims, BundleError> {
        let bytes = b64_decode(self.payload)
            .map_err(|_| BundleError::malformed("payload is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|e| BundleError::malformed(format!("payload: {e}")))
    }
}
