//! Credentials on the wire: JWS compact tokens, issuer keys and JWKS, status lists, QR payloads.

mod card_picture;
mod card_token;
mod claims;
mod counter_token;
mod holder_key;
mod holder_proof;
mod issuer_key;
pub mod jose;
mod json_scan;
mod jws;
mod key_sealing;
mod own_key;
mod qr;
mod sm2;
mod sm4_gcm;
mod status_list;

pub use card_picture::{
    CARD_HEIGHT_MM, CARD_WIDTH_MM, CardFace, MIN_MODULE_MM, PictureError, QR_SIDE_MM,
    QUIET_MODULES, card_svg, module_mm, shanghai_date,
};
pub use card_token::{
    CardClaims, Confirmation, HolderKey, OWN_TOKEN_TYPE, StatusClaim, StatusListRef,
};
pub use claims::{ClaimError, Claims};
pub use counter_token::{
    COUNTER_TOKEN_TYPE, CounterClaims, CounterTokenError, CounterTokenKey, MAX_COUNTER_TOKEN_HOURS,
};
pub use holder_key::CnfError;
pub(crate) use holder_proof::{Expected, parse_holder_proof};
pub use holder_proof::{HOLDER_PROOF_TYPE, sd_hash, sign_holder_proof};
pub use issuer_key::{IssuerKey, jwk_set, public_jwk, thumbprint};
pub use jose::sign_compact;
pub use json_scan::{MAX_DEPTH, MAX_MEMBERS, MAX_NUMBER_CHARS, Member, ScanError, Scanned, scan};
pub use jws::{CompactJws, Header, JwsError, MAX_CREDENTIAL_BYTES, b64, b64_decode};
pub use key_sealing::{
    DEFAULT_KEK_ID, KekConfigError, KeyEncryptionKey, KeyEncryptionKeys, MAX_KEK_ID_LEN, SealError,
    SealingAlgorithm, UnknownSealing,
};
pub use own_key::{OwnKeyError, OwnSigningKey, SigningAlgorithm, UnknownSigningAlgorithm};
pub use qr::{OWN_QR_PREFIX, strip_qr_prefix};
pub use sm2::{
    SM2_ALG, SM2_DEFAULT_ID, SM2_PUBLIC_LEN, Sm2IssuerKey, sm2_public_jwk, sm2_public_key,
    sm2_public_key_from_sec1, sm2_sign_compact, sm2_thumbprint, sm2_verify,
};
pub use status_list::{STATUS_BITS, StatusList, StatusListError, sign_status_list_token};
