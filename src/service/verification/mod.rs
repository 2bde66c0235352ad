//! Deciding whether a credential is genuine and current, and what its holder is recognised as
//! here. Reads keys, status and catalogue from memory only: no database round trip.
//! Order of checks (DESIGN.md): size, structure, header, issuer and key, signature, time,
//! status. Own and partner cards take the same path; a profile says where their claims are.

use super::VerdictCounts;
use super::catalogue::ActiveCatalogue;
use super::federation::Staleness;
use super::holder_proof::HolderPolicy;
use super::signature_pool;
use super::{IssuerPolicy, TrustState, now};
use crate::credential::{CompactJws, MAX_CREDENTIAL_BYTES, strip_qr_prefix};
use crate::domain::{CardStatus, TokenProfile};
use crate::trust::Keyring;
use crate::trust::{PartnerBundle, PinnedKey, TrustRegistry};
use std::sync::Arc;
use talent_verifier::verification::{Stage, Trust, check, conclude, decode_room};

pub use talent_verifier::verification::Verdict;

/// What verification reads, taken once per call (or once per batch).
struct Snapshot {
    registry: Arc<TrustRegistry>,
    keyring: Arc<Keyring>,
    catalogue: Arc<ActiveCatalogue>,
}

/// The verifier crate's view of one call: the service's settings and state beside the
/// call's snapshot. Two references: small in the call's future.
struct View<'a> {
    verification: &'a Verification,
    snapshot: &'a Snapshot,
}

impl Trust for View<'_> {
    #[inline]
    fn own_issuer(&self) -> &str {
        &self.verification.policy.issuer
    }
    #[inline]
    fn own_region(&self) -> &str {
        &self.verification.policy.region
    }
    #[inline]
    fn own_profile(&self) -> &TokenProfile {
        &self.verification.own_profile
    }
    #[inline]
    fn clock_skew(&self) -> i64 {
        self.verification.policy.clock_skew
    }
    #[inline]
    fn own_key(&self, kid: &str) -> Option<&PinnedKey> {
        self.snapshot.keyring.verifier(kid)
    }
    #[inline]
    fn own_key_revoked(&self, kid: &str) -> bool {
        self.snapshot.keyring.revocation(kid).is_some()
    }
    #[inline]
    fn own_status(&self, idx: u64) -> CardStatus {
        self.verification.state.status().status(idx)
    }
    #[inline]
    fn partner(&self, issuer: &str) -> Option<&PartnerBundle> {
        self.snapshot.registry.partner(issuer).map(|p| &**p)
    }
    #[inline]
    fn staleness(&self, partner: &PartnerBundle) -> Option<String> {
        self.verification.staleness.of(partner)
    }
    #[inline]
    fn catalogue(&self) -> &ActiveCatalogue {
        &self.snapshot.catalogue
    }
}

/// Credentials per chunk of a [`Verification::verify_many`] call: a batch of 64 Ed25519
/// signatures gets most of batching's gain, and a chunk takes about 2 ms of a core.
pub const CHUNK: usize = 64;

/// What a [`Verification::verify_many`] call keeps across its chunks.
struct ManyCall {
    t: i64,
    snapshot: Snapshot,
    /// The chunk's decode buffer, reused.
    arena: Vec<u8>,
    /// A batch of this call failed: the rest is checked one by one.
    shown_bad_signatures: bool,
}

/// Tokens up to this size decode on the stack.
const STACK_BUFFER: usize = 2048;

/// Verifying credentials, own and partners', from memory only; and holder proofs
/// (`holder_proof.rs`), whose nonces are the one database write on the verify path.
pub struct Verification {
    pub(crate) state: Arc<TrustState>,
    pub(crate) policy: IssuerPolicy,
    own_profile: Arc<TokenProfile>,
    pub(crate) staleness: Staleness,
    pub(crate) holder: HolderPolicy,
    pub(crate) nonce_key: super::challenge_nonce::NonceKey,
    pub(crate) store: Arc<dyn crate::store::Store>,
    verdicts: VerdictCounts,
}

impl Verification {
    /// The token profile own cards are issued and verified in.
    pub(crate) fn own_profile(&self) -> &TokenProfile {
        &self.own_profile
    }

    pub(crate) fn new(
        state: Arc<TrustState>,
        policy: IssuerPolicy,
        own_profile: Arc<TokenProfile>,
        staleness: Staleness,
        holder: HolderPolicy,
        nonce_key: super::challenge_nonce::NonceKey,
        store: Arc<dyn crate::store::Store>,
    ) -> Self {
        Self {
            state,
            policy,
            own_profile,
            staleness,
            holder,
            nonce_key,
            store,
            verdicts: VerdictCounts::default(),
        }
    }

    /// Verdicts by reason so far.
    pub fn verdict_counts(&self) -> &VerdictCounts {
        &self.verdicts
    }

    fn view<'a>(&'a self, snapshot: &'a Snapshot) -> View<'a> {
        View {
            verification: self,
            snapshot,
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            registry: self.state.registry(),
            keyring: self.state.keyring(),
            catalogue: self.state.catalogue(),
        }
    }

    /// Verifies a token or QR payload. Never fails: every problem is a verdict.
    pub fn verify(&self, credential: &str) -> Verdict {
        let t = now();
        let snapshot = self.snapshot();
        let token = strip_qr_prefix(credential);
        let (mut stack, mut heap) = ([0u8; STACK_BUFFER], Vec::new());
        let buffer = decode_room(credential, token, &mut stack, &mut heap);
        let view = self.view(&snapshot);
        match check(&view, credential, token, buffer) {
            Stage::Done(v) => v,
            Stage::AwaitingSignature(s) => {
                let ok = s.verify_alone();
                conclude(&view, s, ok, t)
            }
        }
    }

    /// [`Verification::verify`] for a call among many in flight: the Ed25519 signature of an own
    /// card is checked in one batch with those of the other calls on this thread that reach
    /// the same point before it is polled again (see `pool`). Same verdicts.
    pub async fn verify_pooled(&self, credential: &str) -> Verdict {
        let t = now();
        let snapshot = self.snapshot();
        let token = strip_qr_prefix(credential);
        // On the heap: a stack buffer would live in this future's state, and every move of
        // the future (into the boxes the server wraps calls in) would copy it.
        let mut heap = Vec::new();
        let buffer = decode_room(credential, token, &mut [0u8; 0], &mut heap);
        let view = self.view(&snapshot);
        let signed = match check(&view, credential, token, buffer) {
            Stage::Done(v) => return v,
            Stage::AwaitingSignature(s) => s,
        };
        let ok = match signed.key.batch_item(signed.signature) {
            Some((key, signature)) if signed.own => {
                signature_pool::verify(signed.input, &signature, key).await
            }
            _ => signed.verify_alone(),
        };
        conclude(&view, signed, ok, t)
    }

    /// Verifies many credentials at `now`, with verdicts identical to [`Verification::verify`]'s
    /// one by one, in chunks of [`CHUNK`] with a yield to the runtime between chunks (a
    /// large call does not hold a thread's core for milliseconds). In each chunk the Ed25519
    /// signatures under own keys are checked together in one batch; a chunk whose batch
    /// fails is checked one by one, and so is the rest of the call: the caller has shown bad
    /// signatures, and one costs it about one unbatched check, not a batch redone.
    pub async fn verify_many(&self, credentials: &[&str]) -> Vec<Verdict> {
        let mut call = self.call();
        let mut verdicts = Vec::with_capacity(credentials.len());
        for (i, chunk) in credentials.chunks(CHUNK).enumerate() {
            if i > 0 {
                tokio::task::yield_now().await;
            }
            self.verify_chunk(&mut call, chunk, &mut verdicts);
        }
        verdicts
    }

    /// [`Verification::verify_many`] without yielding between chunks (same verdicts, same
    /// batching), for callers outside a runtime.
    pub fn verify_many_blocking(&self, credentials: &[&str]) -> Vec<Verdict> {
        let mut call = self.call();
        let mut verdicts = Vec::with_capacity(credentials.len());
        for chunk in credentials.chunks(CHUNK) {
            self.verify_chunk(&mut call, chunk, &mut verdicts);
        }
        verdicts
    }

    fn call(&self) -> ManyCall {
        ManyCall {
            t: now(),
            snapshot: self.snapshot(),
            arena: Vec::new(),
            shown_bad_signatures: false,
        }
    }

    /// One chunk of a [`Verification::verify_many`] call, its verdicts appended to `out`.
    fn verify_chunk(&self, call: &mut ManyCall, chunk: &[&str], out: &mut Vec<Verdict>) {
        let ManyCall {
            t,
            snapshot,
            arena,
            shown_bad_signatures,
        } = call;
        let view = self.view(snapshot);
        let tokens: Vec<&str> = chunk.iter().map(|c| strip_qr_prefix(c)).collect();
        // One buffer for the chunk: each credential decodes into its own slice of it.
        let room = |c: &str, token: &str| {
            if c.len() <= MAX_CREDENTIAL_BYTES {
                CompactJws::buffer_len(token)
            } else {
                0
            }
        };
        let total = chunk.iter().zip(&tokens).map(|(c, t)| room(c, t)).sum();
        arena.clear();
        arena.resize(total, 0);
        let mut rest = &mut arena[..];
        let mut stages = Vec::with_capacity(chunk.len());
        for (c, token) in chunk.iter().zip(&tokens) {
            let (buffer, tail) = std::mem::take(&mut rest).split_at_mut(room(c, token));
            rest = tail;
            stages.push(check(&view, c, token, buffer));
        }
        // Signatures that may be batched, unless the caller has shown bad ones already.
        let mut batched = Vec::new();
        let (mut messages, mut signatures, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for (i, stage) in stages.iter().enumerate() {
            if let Stage::AwaitingSignature(s) = stage
                && s.own
                && !*shown_bad_signatures
                && let Some((key, signature)) = s.key.batch_item(s.signature)
            {
                batched.push(i);
                messages.push(s.input);
                signatures.push(signature);
                keys.push(*key);
            }
        }
        // Hand-written: jsonwebtoken verifies one signature at a time; own cards are batched.
        let batch_ok =
            batched.len() > 1 && ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok();
        if batched.len() > 1 && !batch_ok {
            *shown_bad_signatures = true;
        }
        let mut in_batch = batched.into_iter().peekable();
        for (i, stage) in stages.into_iter().enumerate() {
            out.push(match stage {
                Stage::Done(v) => v,
                Stage::AwaitingSignature(s) => {
                    let batched = in_batch.next_if_eq(&i).is_some();
                    let ok = (batched && batch_ok) || s.verify_alone();
                    conclude(&view, s, ok, *t)
                }
            });
        }
    }
}

#[cfg(test)]
mod tests;
