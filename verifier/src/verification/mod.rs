//! Deciding whether a credential is genuine and current, and what its holder is recognised as
//! here, from what a [`Trust`] holds: the one decision sequence of the gateway's VerifyCard
//! and of an offline verifier. Order of checks (DESIGN.md): size, structure, header, issuer
//! and key, signature, time, status. Own and partner cards take the same path; a profile says
//! where their claims are.
//!
//! The signature sits between [`check`] and [`conclude`] so that a caller may batch it (the
//! gateway checks own Ed25519 signatures of many calls together); [`verify`] does all three.

use crate::credential::{ClaimError, CompactJws, MAX_CREDENTIAL_BYTES, Scanned, strip_qr_prefix};
use crate::domain::{CardStatus, TokenProfile};
use crate::recognition::ActiveCatalogue;
use crate::trust::{PartnerBundle, PinnedKey};

mod checks;
mod verdict;

pub use checks::{check, conclude};
pub use verdict::Verdict;

/// What the decision sequence reads: the verifier's own issuer and keys, its cards'
/// statuses, the partners and the catalogue. The gateway implements it over its per-call
/// snapshot, an offline verifier over a bundle. Every method is a lookup in memory.
pub trait Trust {
    /// The own issuer (`iss` of own cards).
    fn own_issuer(&self) -> &str;
    /// The own region, for own cards when the catalogue names none for the issuer.
    fn own_region(&self) -> &str;
    /// The token profile own cards are in.
    fn own_profile(&self) -> &TokenProfile;
    /// Seconds allowed around a card's `exp`, `nbf` and `iat`.
    fn clock_skew(&self) -> i64;
    /// An own key by kid (neither revoked nor unknown).
    fn own_key(&self, kid: &str) -> Option<&PinnedKey>;
    /// The own key `kid` is revoked.
    fn own_key_revoked(&self, kid: &str) -> bool;
    /// An own card's status at its status-list index.
    fn own_status(&self, idx: u64) -> CardStatus;
    /// A partner by its issuer.
    fn partner(&self, issuer: &str) -> Option<&PartnerBundle>;
    /// Why a federated partner's data is too old to decide on, when it is.
    fn staleness(&self, partner: &PartnerBundle) -> Option<String>;
    /// The catalogue version in force, with this region's answers.
    fn catalogue(&self) -> &ActiveCatalogue;
}

/// Why a signed payload's claims cannot be read as a card (the verdict's detail).
#[derive(Debug, thiserror::Error)]
enum MalformedClaims {
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error("{0} is not a card number of this issuer")]
    NotACardNumber(String),
    #[error("{0} is not a tier")]
    NotATier(String),
    #[error("{0} is missing")]
    Missing(&'static str),
}

/// Where a token's issuer was found.
#[derive(Clone, Copy)]
enum Issuer<'a> {
    Own,
    Partner(&'a PartnerBundle),
}

/// A credential whose structure, header, issuer and key checked out: what the signature
/// check needs, and what the rest of the checks read afterwards. Borrows from the
/// credential, its decode buffer and the trust it was checked against.
pub struct Unverified<'a> {
    /// The verdict so far (valid, with the issuer's region).
    pub verdict: Verdict,
    /// An own card.
    pub own: bool,
    /// The partner's status list, when its cards are checked against one.
    pub partner_statuses: Option<&'a crate::credential::StatusList>,
    /// The issuer's token profile.
    pub profile: &'a TokenProfile,
    /// The key the signature must verify under.
    pub key: &'a PinnedKey,
    /// The JWS signing input.
    pub input: &'a [u8],
    /// The signature, decoded.
    pub signature: &'a [u8],
    /// The signature part as it came, for jsonwebtoken.
    pub signature_b64: &'a str,
    /// The payload, scanned but not yet read: claims are read once the signature holds.
    pub payload: Scanned<'a>,
}

impl Unverified<'_> {
    /// The signature checked on its own: a partner's by jsonwebtoken, an own card's as its
    /// batch would check it.
    #[inline]
    pub fn verify_alone(&self) -> bool {
        if self.own {
            self.key
                .verify_own(self.input, self.signature, self.signature_b64)
        } else {
            self.key
                .verify(self.input, self.signature, self.signature_b64)
        }
    }
}

/// Where a credential stands before its signature is checked.
pub enum Stage<'a> {
    /// Decided without the signature.
    Done(Verdict),
    /// Waits for its signature.
    AwaitingSignature(Unverified<'a>),
}

/// Tokens up to this size decode on the stack in [`verify`].
const STACK_BUFFER: usize = 2048;

/// Where `token` decodes: in `stack` when it fits, else on the heap; nothing for a
/// credential past the size bound (it is refused before any decoding).
#[inline]
pub fn decode_room<'b, const N: usize>(
    credential: &str,
    token: &str,
    stack: &'b mut [u8; N],
    heap: &'b mut Vec<u8>,
) -> &'b mut [u8] {
    let need = CompactJws::buffer_len(token);
    if need <= N {
        &mut stack[..need]
    } else if credential.len() <= MAX_CREDENTIAL_BYTES {
        heap.resize(need, 0);
        &mut heap[..]
    } else {
        &mut stack[..0]
    }
}

/// Verifies a token or QR payload against `trust` at Unix time `t`, the signature checked
/// alone. Never fails: every problem is a verdict.
pub fn verify<T: Trust>(trust: &T, credential: &str, t: i64) -> Verdict {
    let token = strip_qr_prefix(credential);
    let (mut stack, mut heap) = ([0u8; STACK_BUFFER], Vec::new());
    let buffer = decode_room(credential, token, &mut stack, &mut heap);
    match check(trust, credential, token, buffer) {
        Stage::Done(v) => v,
        Stage::AwaitingSignature(s) => {
            let ok = s.verify_alone();
            conclude(trust, s, ok, t)
        }
    }
}
