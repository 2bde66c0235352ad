//! Credentials on the wire: JWS compact tokens, issuer keys and JWKS, status lists, QR payloads.
//! Parsing and verification live in the verifier crate (`talent_verifier::credential`),
//! re-exported here under their old paths; the gateway's own signing and sealing are here.

mod card_picture;
mod counter_token;
mod holder_proof;
mod key_sealing;
mod own_key;
mod sm4_gcm;
mod status_list_token;

pub use card_picture::{
    CARD_HEIGHT_MM, CARD_WIDTH_MM, CardFace, MIN_MODULE_MM, PictureError, QR_SIDE_MM,
    QUIET_MODULES, card_svg, module_mm, shanghai_date,
};
pub use counter_token::{
    COUNTER_TOKEN_TYPE, CounterClaims, CounterTokenError, CounterTokenKey, MAX_COUNTER_TOKEN_HOURS,
};
pub(crate) use holder_proof::{Expected, parse_holder_proof};
pub use holder_proof::{HOLDER_PROOF_TYPE, sd_hash, sign_holder_proof};
pub use key_sealing::{
    DEFAULT_KEK_ID, KekConfigError, KeyEncryptionKey, KeyEncryptionKeys, MAX_KEK_ID_LEN, SealError,
    SealingAlgorithm, UnknownSealing,
};
pub use own_key::{OwnKeyError, OwnSigningKey};
pub use status_list_token::sign_status_list_token;
pub use talent_verifier::credential::*;
