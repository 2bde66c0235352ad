//! Credentials on the wire: JWS compact tokens, issuer keys and JWKS, status lists, QR
//! payloads, SM2 in JOSE. What the gateway alone does with keys (sealing, own signing keys,
//! counter tokens, holder-proof signing, card pictures) stays in the gateway.

mod card_token;
mod claims;
mod holder_key;
mod issuer_key;
pub mod jose;
mod json_scan;
mod jws;
mod qr;
mod signing_algorithm;
mod sm2;
mod status_list;

pub use card_token::{
    CardClaims, Confirmation, HolderKey, OWN_TOKEN_TYPE, StatusClaim, StatusListRef,
};
pub use claims::{ClaimError, Claims};
pub use holder_key::CnfError;
pub use issuer_key::{IssuerKey, jwk_set, public_jwk, thumbprint};
pub use jose::sign_compact;
pub use json_scan::{MAX_DEPTH, MAX_MEMBERS, MAX_NUMBER_CHARS, Member, ScanError, Scanned, scan};
pub use jws::{CompactJws, Header, JwsError, MAX_CREDENTIAL_BYTES, b64, b64_decode};
pub use qr::{OWN_QR_PREFIX, strip_qr_prefix};
pub use signing_algorithm::{SigningAlgorithm, UnknownSigningAlgorithm};
pub use sm2::{
    SM2_ALG, SM2_DEFAULT_ID, SM2_PUBLIC_LEN, Sm2IssuerKey, sm2_public_jwk, sm2_public_key,
    sm2_public_key_from_sec1, sm2_sign_compact, sm2_thumbprint, sm2_verify,
};
pub use status_list::{STATUS_BITS, StatusList, StatusListError};
