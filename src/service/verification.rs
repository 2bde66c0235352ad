//! Deciding whether a credential is genuine and current, and what its holder is recognised as
//! here. Reads keys, status and catalogue from memory only: no database round trip.
//! Order of checks (DESIGN.md): size, structure, header, issuer and key, signature, time,
//! status. Own and partner cards take the same path; a profile says where their claims are.

use super::catalogue::{ActiveCatalogue, Recognition};
use super::keyring::Keyring;
use super::signature_pool;
use super::{Gateway, now};
use crate::credential::{
    ClaimError, Claims, CompactJws, HolderKey, MAX_CREDENTIAL_BYTES, Scanned, scan, strip_qr_prefix,
};
use crate::domain::{CardNumber, CardStatus, Reason, Tier, TokenProfile};
use crate::locks;
use crate::trust::{Algorithm, PinnedKey, TrustRegistry};
use std::sync::Arc;

/// The outcome of verifying one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reason code; `Reason::Ok` when valid.
    pub reason: Reason,
    /// Plain-words explanation of a refusal.
    pub detail: String,
    /// Region of the issuer, when known.
    pub issuer_region: String,
    /// Card number, when the token could be read.
    pub card_id: String,
    /// Holder name, when the signature checked out.
    pub holder_name: String,
    /// Tier in the issuer's scheme.
    pub native_tier: String,
    /// Expiry (unix seconds), 0 when unknown.
    pub expires_at: i64,
    /// What the holder is recognised as here, and the services that go with it.
    pub recognition: Option<Arc<Recognition>>,
    /// The holder's device key, when the card is bound to one.
    pub holder_key: Option<HolderKey>,
}

impl Verdict {
    /// A valid verdict from an issuer's region; the later checks may still refuse it.
    fn ok_from(issuer_region: String) -> Self {
        Self {
            reason: Reason::Ok,
            detail: String::new(),
            issuer_region,
            card_id: String::new(),
            holder_name: String::new(),
            native_tier: String::new(),
            expires_at: 0,
            recognition: None,
            holder_key: None,
        }
    }

    fn refuse(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            issuer_region: String::new(),
            card_id: String::new(),
            holder_name: String::new(),
            native_tier: String::new(),
            expires_at: 0,
            recognition: None,
            holder_key: None,
        }
    }

    fn with(mut self, reason: Reason, detail: &str) -> Self {
        self.reason = reason;
        self.detail = detail.to_owned();
        self
    }

    /// True when the credential may be used.
    pub fn valid(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// The tier recognised here, when there is one.
    pub fn recognised_tier(&self) -> Option<Tier> {
        self.recognition.as_ref().map(|r| r.recognised_tier)
    }
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
enum Issuer<'a> {
    Own,
    Partner(&'a crate::trust::PartnerBundle),
}

/// What verification reads, taken once per call (or once per batch).
struct Snapshot {
    registry: Arc<TrustRegistry>,
    keyring: Arc<Keyring>,
    catalogue: Arc<ActiveCatalogue>,
}

/// A credential whose structure, header, issuer and key checked out: what the signature
/// check needs, and what the rest of the checks read afterwards. Borrows from the
/// credential, its decode buffer and the snapshot.
struct Unverified<'a> {
    verdict: Verdict,
    own: bool,
    /// The partner's status list, when its cards are checked against one.
    partner_statuses: Option<&'a crate::credential::StatusList>,
    profile: &'a TokenProfile,
    key: &'a PinnedKey,
    input: &'a [u8],
    signature: &'a [u8],
    /// The signature part as it came, for jsonwebtoken.
    signature_b64: &'a str,
    /// The payload, scanned but not yet read: claims are read once the signature holds.
    payload: Scanned<'a>,
}

impl Unverified<'_> {
    /// The signature checked on its own: a partner's by jsonwebtoken, an own card's as its
    /// batch would check it.
    fn verify_alone(&self) -> bool {
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
enum Stage<'a> {
    /// Decided without the signature.
    Done(Verdict),
    /// Waits for its signature.
    AwaitingSignature(Unverified<'a>),
}

/// Credentials per chunk of a [`Gateway::verify_many`] call: a batch of 64 Ed25519
/// signatures gets most of batching's gain, and a chunk takes about 2 ms of a core.
pub const CHUNK: usize = 64;

/// What a [`Gateway::verify_many`] call keeps across its chunks.
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

/// Where `token` decodes: in `stack` when it fits, else on the heap; nothing for a
/// credential past the size bound (it is refused before any decoding).
fn decode_room<'b, const N: usize>(
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

impl Gateway {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            registry: self.registry(),
            keyring: self.keyring(),
            catalogue: self.catalogue(),
        }
    }

    /// Verifies a token or QR payload. Never fails: every problem is a verdict.
    pub fn verify(&self, credential: &str) -> Verdict {
        let t = now();
        let snapshot = self.snapshot();
        let token = strip_qr_prefix(credential);
        let (mut stack, mut heap) = ([0u8; STACK_BUFFER], Vec::new());
        let buffer = decode_room(credential, token, &mut stack, &mut heap);
        match self.check(credential, token, buffer, &snapshot) {
            Stage::Done(v) => v,
            Stage::AwaitingSignature(s) => {
                let ok = s.verify_alone();
                self.conclude(s, ok, t, &snapshot)
            }
        }
    }

    /// [`Gateway::verify`] for a call among many in flight: the Ed25519 signature of an own
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
        let signed = match self.check(credential, token, buffer, &snapshot) {
            Stage::Done(v) => return v,
            Stage::AwaitingSignature(s) => s,
        };
        let ok = match signed.key.batch_item(signed.signature) {
            Some((key, signature)) if signed.own => {
                signature_pool::verify(signed.input, &signature, key).await
            }
            _ => signed.verify_alone(),
        };
        self.conclude(signed, ok, t, &snapshot)
    }

    /// Verifies many credentials at `now`, with verdicts identical to [`Gateway::verify`]'s
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

    /// [`Gateway::verify_many`] without yielding between chunks (same verdicts, same
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

    /// One chunk of a [`Gateway::verify_many`] call, its verdicts appended to `out`.
    fn verify_chunk(&self, call: &mut ManyCall, chunk: &[&str], out: &mut Vec<Verdict>) {
        let ManyCall {
            t,
            snapshot,
            arena,
            shown_bad_signatures,
        } = call;
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
            stages.push(self.check(c, token, buffer, snapshot));
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
                    self.conclude(s, ok, *t, snapshot)
                }
            });
        }
    }

    /// Steps 1 to 4: size, structure, header, issuer and key.
    fn check<'a>(
        &'a self,
        credential: &str,
        token: &'a str,
        buffer: &'a mut [u8],
        snapshot: &'a Snapshot,
    ) -> Stage<'a> {
        // 1. size, before any parsing
        if credential.len() > MAX_CREDENTIAL_BYTES {
            return Stage::Done(Verdict::refuse(
                Reason::Malformed,
                "credential is larger than 8 KiB",
            ));
        }
        // 2. structure
        let jws = match CompactJws::parse(token, buffer) {
            Ok(j) => j,
            Err(e) => return Stage::Done(Verdict::refuse(Reason::Malformed, e.to_string())),
        };
        // Before the signature only what choosing the key needs is read: a linear, bounded
        // scan that finds `iss`.
        let payload = match scan(jws.payload) {
            Ok(p) => p,
            Err(e) => return Stage::Done(Verdict::refuse(Reason::Malformed, e.in_payload())),
        };
        let Some(issuer_name) = payload.str("iss") else {
            return Stage::Done(Verdict::refuse(Reason::Malformed, "payload has no iss"));
        };
        let iss = issuer_name.as_ref();
        // 3. header
        if jws.header.has_unsupported_fields() {
            return Stage::Done(Verdict::refuse(
                Reason::UnsupportedHeader,
                "crit, jku, x5u, jwk and x5c headers are refused, never followed",
            ));
        }
        let Some(alg) = Algorithm::from_header(&jws.header.alg) else {
            return Stage::Done(Verdict::refuse(
                Reason::AlgorithmNotAllowed,
                format!("algorithm {:?} is not allowed", jws.header.alg),
            ));
        };
        // 4. issuer and key: own keys only for own cards, a partner's only for its cards
        let (issuer, profile): (Issuer<'_>, &TokenProfile) = if iss == self.policy.issuer {
            (Issuer::Own, &self.own_profile)
        } else if let Some(p) = snapshot.registry.partner(iss) {
            (Issuer::Partner(p), &p.profile)
        } else {
            return Stage::Done(Verdict::refuse(
                Reason::UnknownIssuer,
                format!("issuer {iss:?} is not trusted here"),
            ));
        };
        let region = snapshot
            .catalogue
            .catalogue
            .region_of_issuer(iss)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| match issuer {
                Issuer::Own => self.policy.region.clone(),
                Issuer::Partner(p) => p.id.clone(),
            });
        let v = Verdict::ok_from(region);
        if let Issuer::Partner(p) = issuer
            && p.suspended
        {
            return Stage::Done(v.with(
                Reason::PartnerSuspended,
                "the partner is suspended under the agreement",
            ));
        }
        if let Issuer::Partner(p) = issuer
            && p.federated
            && let Some(detail) = self.stale_trust_data(p)
        {
            return Stage::Done(v.with(Reason::StaleTrustData, &detail));
        }
        if jws.header.typ.as_deref() != Some(profile.typ.as_str()) {
            return Stage::Done(v.with(Reason::WrongType, &format!("typ must be {}", profile.typ)));
        }
        if !profile.algorithms.iter().any(|a| *a == jws.header.alg) {
            return Stage::Done(v.with(
                Reason::AlgorithmNotAllowed,
                "the profile does not allow this algorithm",
            ));
        }
        // A revoked kid is refused at lookup, before any signature work.
        let revoked = jws.header.kid.as_deref().is_some_and(|kid| match issuer {
            Issuer::Own => snapshot.keyring.revocation(kid).is_some(),
            Issuer::Partner(p) => p.revoked.contains(kid),
        });
        if revoked {
            return Stage::Done(v.with(
                Reason::KeyRevoked,
                "the key that signed this token is revoked",
            ));
        }
        let key: Option<&PinnedKey> = jws.header.kid.as_deref().and_then(|kid| match issuer {
            Issuer::Own => snapshot.keyring.verifier(kid),
            Issuer::Partner(p) => p.keys.get(kid),
        });
        let Some(key) = key else {
            return Stage::Done(v.with(Reason::UnknownKey, "no key with that kid for this issuer"));
        };
        if key.algorithm() != alg {
            return Stage::Done(v.with(
                Reason::AlgorithmNotAllowed,
                "the key is pinned to another algorithm",
            ));
        }
        Stage::AwaitingSignature(Unverified {
            verdict: v,
            own: matches!(issuer, Issuer::Own),
            partner_statuses: match issuer {
                Issuer::Own => None,
                Issuer::Partner(p) => p.statuses.as_deref(),
            },
            profile,
            key,
            input: jws.signing_input.as_bytes(),
            signature: jws.signature,
            signature_b64: jws.signature_b64,
            payload,
        })
    }

    /// Step 5's outcome, then the claims, time (6) and status (7), and the recognition.
    fn conclude(
        &self,
        s: Unverified<'_>,
        signature_ok: bool,
        t: i64,
        snapshot: &Snapshot,
    ) -> Verdict {
        let Unverified {
            verdict: v,
            own,
            partner_statuses,
            profile,
            payload,
            ..
        } = s;
        // 5. signature
        if !signature_ok {
            return v.with(Reason::BadSignature, "signature does not match");
        }
        let Some(claims) = Claims::read(&payload) else {
            return v.with(Reason::Malformed, "payload is not a JSON object");
        };
        // claims, now that they are known to be the issuer's
        let parsed = (|| -> Result<(String, String, Tier, i64, i64, i64), MalformedClaims> {
            let names = &profile.claims;
            let card = claims.text(&names.card_number)?;
            let ok_number = match (own, &profile.card_number) {
                (true, Some(shape)) => shape.matches(card),
                (true, None) => card.parse::<CardNumber>().is_ok(),
                (false, Some(shape)) => shape.matches(card),
                (false, None) => card.len() <= 64,
            };
            if !ok_number {
                return Err(MalformedClaims::NotACardNumber(names.card_number.clone()));
            }
            let name = claims.text(&names.holder_name)?;
            let tier: Tier = claims
                .text(&names.tier)?
                .parse()
                .map_err(|_| MalformedClaims::NotATier(names.tier.clone()))?;
            let exp = claims.int("exp")?.ok_or(MalformedClaims::Missing("exp"))?;
            let iat = claims.int("iat")?.ok_or(MalformedClaims::Missing("iat"))?;
            let nbf = match claims.int("nbf")? {
                Some(n) => n,
                None if names.nbf_required => return Err(MalformedClaims::Missing("nbf")),
                None => iat,
            };
            Ok((card.to_owned(), name.to_owned(), tier, exp, iat, nbf))
        })();
        let (card, name, tier, exp, iat, nbf) = match parsed {
            Ok(p) => p,
            Err(e) => return v.with(Reason::Malformed, &e.to_string()),
        };
        let mut v = v;
        v.card_id = card;
        v.holder_name = name;
        v.native_tier = tier.as_str().to_owned();
        v.expires_at = exp;
        let holder_key = claims.holder_key();
        // 6. time. A card past its expiry is EXPIRED and one before its start NOT_YET_VALID
        // whatever else is odd about it: that is what a counter needs to hear. A window that
        // cannot hold (exp <= nbf) or an iat in the future is MALFORMED.
        let skew = self.policy.clock_skew;
        if exp + skew <= t {
            return v.with(Reason::Expired, "the card has expired");
        }
        if nbf > t + skew {
            return v.with(Reason::NotYetValid, "the card is not valid yet");
        }
        if exp <= nbf || iat > t + skew {
            return v.with(Reason::Malformed, "exp, nbf or iat are inconsistent");
        }
        // 7. status: own cards from the board, a partner's from its last good list (its
        // profile makes the reference optional)
        let status = if own {
            let Some(idx) = claims.status_index() else {
                return v.with(Reason::Malformed, "status.status_list.idx is missing");
            };
            Some(locks::read(&self.status).status(idx))
        } else {
            match (partner_statuses, claims.status_index()) {
                (Some(list), Some(idx)) => Some(match usize::try_from(idx) {
                    Ok(i) if i < list.capacity() => CardStatus::from_list_value(list.get(i)),
                    _ => CardStatus::Revoked,
                }),
                _ => None,
            }
        };
        if let Some(status) = status {
            match status {
                CardStatus::Active => {}
                CardStatus::Suspended => {
                    return v.with(Reason::Suspended, "the card is suspended by its issuer");
                }
                CardStatus::Revoked => {
                    return v.with(Reason::Revoked, "the card is revoked by its issuer");
                }
            }
        }
        // 8. holder binding: a cnf that is there but cannot be read is refused, never taken
        // for "not bound" (that would skip a required holder proof).
        match holder_key {
            Ok(k) => v.holder_key = k,
            Err(e) => return v.with(Reason::HolderProofInvalid, &e.to_string()),
        }
        // What the holder is recognised as here.
        match snapshot.catalogue.here(&v.issuer_region, tier) {
            Some(r) => v.recognition = Some(r.clone()),
            None => {
                let detail = format!(
                    "tier {tier} is not a tier the agreement knows for {}",
                    v.issuer_region
                );
                return v.with(Reason::Malformed, &detail);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{b64, b64_decode, sign_compact};
    use crate::service::test_support::{gateway, issue_request};
    use serde_json::{Value, json};

    async fn issue(gw: &Gateway, n: u32) -> String {
        gw.issue_card("test", issue_request(n))
            .await
            .expect("issued")
            .qr_payload()
    }

    /// Every kind of credential the checks tell apart, own-signed where a signature matters.
    async fn credentials(gw: &Gateway) -> Vec<String> {
        let valid = issue(gw, 1).await;
        let suspended = issue(gw, 2).await;
        let revoked = issue(gw, 3).await;
        let card = |qr: &str| -> String {
            let token = strip_qr_prefix(qr);
            let p = token.split('.').nth(1).expect("payload");
            let claims: Value = serde_json::from_slice(&b64_decode(p).expect("b64")).expect("json");
            claims["sub"].as_str().expect("sub").to_owned()
        };
        gw.suspend_card("test", &card(&suspended), "test")
            .await
            .expect("suspend");
        gw.revoke_card("test", &card(&revoked), "test")
            .await
            .expect("revoke");
        gw.refresh().await.expect("refresh");

        let other_payload = strip_qr_prefix(&suspended)
            .split('.')
            .nth(1)
            .expect("payload")
            .to_owned();
        let token = strip_qr_prefix(&valid).to_owned();
        let mut parts = token.split('.');
        let (h, p, s) = (
            parts.next().expect("h"),
            parts.next().expect("p"),
            parts.next().expect("s"),
        );
        let header: Value = serde_json::from_slice(&b64_decode(h).expect("b64")).expect("json");
        let payload = String::from_utf8(b64_decode(p).expect("b64")).expect("utf8");
        let claims: Value = serde_json::from_str(&payload).expect("json");
        let keys = gw.keyring();
        let signer = keys.signer(now()).expect("signer");
        let key = signer.ed25519().expect("an Ed25519 key").signing_key();
        let t = now();
        let sign_raw =
            |header: &Value, payload: &str| sign_compact(header, payload.as_bytes(), key);
        let with = |changes: Value| {
            let mut c = claims.clone();
            for (k, v) in changes.as_object().expect("object") {
                if v.is_null() {
                    c.as_object_mut().expect("object").remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            sign_raw(&header, &c.to_string())
        };
        let header_with = |changes: Value| {
            let mut hd = header.clone();
            for (k, v) in changes.as_object().expect("object") {
                hd[k] = v.clone();
            }
            sign_raw(&hd, &payload)
        };
        let sign_header = |hd: &str| {
            use ed25519_dalek::Signer;
            let input = format!("{}.{}", b64(hd), b64(&payload));
            let sig = key.sign(input.as_bytes());
            format!("{input}.{}", b64(sig.to_bytes()))
        };
        let hjson = header.to_string();
        let hx5c = hjson.replacen('{', "{\"x5c\":1e400,", 1);
        let hunknown = hjson.replacen('{', "{\"unknown\":1e400,", 1);
        let flip = |s: &str, at: usize| -> String {
            let mut b = s.as_bytes().to_vec();
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).expect("ascii")
        };
        let mut out = vec![
            valid.clone(),
            token.clone(),
            format!("  {valid}\n"),
            suspended,
            revoked,
            // signatures
            format!("{h}.{}.{s}", other_payload),
            format!("{h}.{p}.{}", flip(s, 5)),
            format!("{h}.{p}.{}", &s[..40]),
            format!("{h}.{p}.{s}AAAA"),
            format!("{h}.{p}.{}", b64([0u8; 64])),
            format!("{h}.{p}.{}", b64([0xffu8; 64])),
            // time
            with(json!({"exp": t - 3600, "iat": t - 7200, "nbf": t - 7200})),
            with(json!({"exp": t - 30})),
            with(json!({"nbf": t + 3600, "exp": t + 7200})),
            with(json!({"iat": t + 3600})),
            with(json!({"exp": t + 10, "nbf": t + 10})),
            // claims
            with(json!({"exp": "tomorrow"})),
            with(json!({"exp": 1.5e9})),
            with(json!({"exp": u64::MAX})),
            with(json!({"exp": -5})),
            with(json!({"exp": null})),
            with(json!({"nbf": null})),
            with(json!({"tier": "Z"})),
            with(json!({"tier": 3})),
            with(json!({"name": ""})),
            with(json!({"sub": "CQ0000000000000"})),
            with(json!({"status": null})),
            with(json!({"status": {"status_list": {"idx": -1}}})),
            with(json!({"status": {"status_list": {"idx": "1"}}})),
            with(json!({"status": {"status_list": {"idx": 1, "uri": "x"}, "x": [1, {"a": null}]}})),
            with(json!({"status": [1, 2]})),
            with(json!({"cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64([9u8; 32])}}})),
            with(json!({"cnf": {"jwk": ["OKP", "Ed25519", "x"]}})),
            with(json!({"cnf": "none"})),
            with(json!({"iss": "urn:cn:510700:talent-card"})),
            with(json!({"iss": 7})),
            with(json!({"iss": null})),
            with(json!({"extra": [true, false, null, 1e300, {"deep": [[[]]]}], "s": "\u{1F600}"})),
            // raw payloads: duplicates (last wins), escapes, numbers out of range, not objects
            sign_raw(
                &header,
                &payload.replacen('{', &format!("{{\"exp\":{},", t - 10), 1),
            ),
            sign_raw(
                &header,
                &payload.replacen("\"exp\"", &format!("\"exp\":{},\"exp\"", t - 10), 1),
            ),
            sign_raw(
                &header,
                &payload.replace("\"tier\":\"C\"", "\"tier\":\"\\u0043\""),
            ),
            sign_raw(&header, &payload.replace("\"iss\"", "\"\\u0069ss\"")),
            sign_raw(&header, &payload.replacen('{', "{\"big\":1e400,", 1)),
            sign_raw(&header, &payload.replacen('{', "{\"bad\":\"\\ud800\",", 1)),
            sign_raw(&header, "null"),
            sign_raw(&header, "[]"),
            sign_raw(&header, "{}"),
            sign_raw(&header, &format!("{payload} ")),
            sign_raw(&header, &format!("{payload}x")),
            // header
            header_with(json!({"kid": "no-such-key"})),
            header_with(json!({"alg": "none"})),
            header_with(json!({"alg": "ES256"})),
            header_with(json!({"alg": "Ed25519"})),
            header_with(json!({"alg": "HS256"})),
            header_with(json!({"typ": "JWT"})),
            header_with(json!({"crit": ["exp"]})),
            header_with(json!({"crit": null})),
            header_with(json!({"jwk": {"kty": "OKP"}})),
            sign_header(&hx5c),
            sign_header(&hunknown),
            format!("{}.{p}.{s}", b64("{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}")),
            format!("{}.{p}.{s}", b64("null")),
            format!("{}.{p}.{s}", b64("{\"kid\":1}")),
            // structure
            "not a token".into(),
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{h}.{p}.{s}="),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}.{p}.+/"),
            "a".repeat(MAX_CREDENTIAL_BYTES + 1),
            format!("{h}.{}.{s}", "A".repeat(MAX_CREDENTIAL_BYTES)),
        ];
        // past the scanner's bounds, before the signature
        let members: String = (0..300).map(|i| format!("\"m{i}\":0,")).collect();
        out.push(sign_raw(
            &header,
            &payload.replacen('{', &format!("{{{members}"), 1),
        ));
        let deep = format!("{{\"d\":{}0{},", "[".repeat(20), "]".repeat(20));
        out.push(sign_raw(&header, &payload.replacen('{', &deep, 1)));
        let long = format!("{{\"n\":{},", "1".repeat(41));
        out.push(sign_raw(&header, &payload.replacen('{', &long, 1)));
        out.push(sign_header(&hjson.replacen(
            '{',
            "{\"x\":1,\"\\u0078\":2,",
            1,
        )));
        // a large token that still fits: decoded on the heap
        out.push(with(json!({"pad": "x".repeat(3000)})));
        out
    }

    fn check(gw: &Gateway, creds: &[String], many: &[Verdict]) {
        assert_eq!(creds.len(), many.len());
        for (c, m) in creds.iter().zip(many) {
            assert_eq!(&gw.verify(c), m, "credential {c:.120}");
        }
    }

    #[tokio::test]
    async fn a_large_call_lets_other_tasks_run_between_chunks() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = gateway(dir.path()).await;
        let card = issue(&gw, 1).await;
        let call: Vec<&str> = vec![card.as_str(); 4 * CHUNK];
        // The test's runtime has one thread: the ticker runs only when verify_many yields.
        let ticks = Arc::new(AtomicUsize::new(0));
        let counted = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let verdicts = gw.verify_many(&call).await;
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        assert!(verdicts.iter().all(Verdict::valid));
        assert!(during >= 3, "the ticker ran {during} times during 4 chunks");
    }

    #[tokio::test]
    async fn batched_verdicts_are_verify_card_verdicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = gateway(dir.path()).await;
        let creds = credentials(&gw).await;
        let refs: Vec<&str> = creds.iter().map(String::as_str).collect();
        let many = gw.verify_many(&refs).await;

        // The checks tell these apart (so the comparison is not all MALFORMED).
        let reasons: Vec<Reason> = many.iter().map(|v| v.reason).collect();
        for (i, r) in [
            (0, Reason::Ok),
            (1, Reason::Ok),
            (2, Reason::Ok),
            (3, Reason::Suspended),
            (4, Reason::Revoked),
            (5, Reason::BadSignature),
            (6, Reason::BadSignature),
            (7, Reason::BadSignature),
            (11, Reason::Expired),
            (13, Reason::NotYetValid),
        ] {
            assert_eq!(reasons[i], r, "credential {i}: {:.100}", creds[i]);
        }
        assert!(many[31].holder_key.is_some());
        // past the scanner's bounds: many members, deep, a long number, a header name twice
        let n = reasons.len();
        assert_eq!(reasons[n - 5..n - 1], [Reason::Malformed; 4]);
        assert_eq!(reasons[n - 1], Reason::Ok);
        check(&gw, &creds, &many);

        // All valid: the batch passes as a whole.
        let valid: Vec<&str> = creds
            .iter()
            .zip(&many)
            .filter(|(_, v)| v.valid())
            .map(|(c, _)| c.as_str())
            .collect();
        assert!(valid.len() >= 4);
        let all_ok = gw.verify_many(&valid).await;
        assert!(all_ok.iter().all(Verdict::valid));

        // Calls in flight on one thread, their signatures pooled.
        let mut calls = tokio::task::JoinSet::new();
        for (i, c) in creds.iter().enumerate() {
            let (gw, c) = (gw.clone(), c.clone());
            calls.spawn(async move { (i, gw.verify_pooled(&c).await) });
        }
        let mut pooled = vec![None; creds.len()];
        while let Some(r) = calls.join_next().await {
            let (i, v) = r.expect("joined");
            pooled[i] = Some(v);
        }
        let pooled: Vec<Verdict> = pooled.into_iter().map(|v| v.expect("answered")).collect();
        check(&gw, &creds, &pooled);

        // One bad signature among many good ones: the batch fails, single checks find it.
        let mut mixed: Vec<&str> = valid.iter().copied().cycle().take(40).collect();
        mixed.insert(17, &creds[6]);
        let verdicts = gw.verify_many(&mixed).await;
        let owned: Vec<String> = mixed.iter().map(|c| (*c).to_owned()).collect();
        check(&gw, &owned, &verdicts);
        assert_eq!(verdicts[17].reason, Reason::BadSignature);
        assert_eq!(verdicts.iter().filter(|v| v.valid()).count(), 40);

        // Several chunks: all pass in batches; then a bad signature in the second chunk, after
        // which that chunk and the rest of the call are checked one by one; then the whole
        // mixed list spread over chunks. Verdicts stay VerifyCard's.
        let many_valid: Vec<&str> = valid.iter().copied().cycle().take(3 * CHUNK + 5).collect();
        let verdicts = gw.verify_many(&many_valid).await;
        assert!(verdicts.iter().all(Verdict::valid));
        let mut bad_later = many_valid.clone();
        bad_later.insert(CHUNK + 3, &creds[6]);
        bad_later.insert(2 * CHUNK + 7, &creds[5]);
        let verdicts = gw.verify_many(&bad_later).await;
        let owned: Vec<String> = bad_later.iter().map(|c| (*c).to_owned()).collect();
        check(&gw, &owned, &verdicts);
        assert_eq!(verdicts[CHUNK + 3].reason, Reason::BadSignature);
        assert_eq!(verdicts[2 * CHUNK + 7].reason, Reason::BadSignature);
        assert_eq!(verdicts.iter().filter(|v| v.valid()).count(), 3 * CHUNK + 5);
        let spread: Vec<&str> = refs.iter().chain(&refs).chain(&refs).copied().collect();
        assert!(spread.len() > 2 * CHUNK);
        let verdicts = gw.verify_many(&spread).await;
        let owned: Vec<String> = spread.iter().map(|c| (*c).to_owned()).collect();
        check(&gw, &owned, &verdicts);
        assert_eq!(gw.verify_many_blocking(&spread), verdicts);
    }
}
