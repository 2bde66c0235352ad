//! Holder binding, the SD-JWT key-binding pattern: a card may carry its holder's Ed25519 key
//! (`cnf.jwk`); the holder's device answers a nonce from [`Verification::create_challenge`] with a
//! small JWT (`typ` kb+jwt) over `nonce`, `aud`, `iat` and `sd_hash`, the hash of the very
//! token it presents. A proof is checked only after the card itself verified; its nonce is
//! the one database write on the verify path, since single use across replicas needs the
//! database (DESIGN.md).

use super::HolderProofSettings;
use super::{ServiceError, Verdict, Verification, now};
use crate::credential::jose::{self, Ed25519Key};
use crate::credential::{CompactJws, HolderKey, JwsError, b64, strip_qr_prefix};
use crate::domain::{Reason, SpiffeId};
use crate::store::ChallengeUse;
use ed25519_dalek::{Signature, SigningKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

/// `typ` of a holder proof.
pub const HOLDER_PROOF_TYPE: &str = "kb+jwt";

/// A proof is a few hundred bytes; anything far larger is not one.
const MAX_PROOF_BYTES: usize = 4096;

/// Longest nonce looked up in the database (ours are 54 characters, earlier ones 43).
const MAX_NONCE_CHARS: usize = 128;

/// Expired nonces are purged at most this often per process, by a CreateChallenge call.
const PURGE_EVERY_SECONDS: i64 = 60;

/// A challenge for the holder's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// base64url: its expiry and 16 random bytes under an HMAC (challenge_nonce.rs).
    pub nonce: String,
    /// The `aud` the proof must name.
    pub audience: String,
    /// Unix seconds after which the nonce is refused.
    pub expires_at: i64,
}

/// What the configuration says about holder proofs, as the gateway uses it.
#[derive(Debug)]
pub(crate) struct HolderPolicy {
    ttl: i64,
    audience: String,
    services: HashSet<String>,
    /// Compared as SPIFFE IDs (the trust domain is case-blind), never as raw text.
    counters: HashSet<SpiffeId>,
    last_purge: AtomicI64,
}

impl HolderPolicy {
    /// Refuses a `required_for_counters` entry that is not a SPIFFE ID, naming it.
    pub(crate) fn new(config: &HolderProofSettings, issuer: &str) -> anyhow::Result<Self> {
        let counters = config
            .required_for_counters
            .iter()
            .map(|c| {
                c.parse::<SpiffeId>().map_err(|e| {
                    anyhow::anyhow!(
                        "holder_proof.required_for_counters: {c:?} is not a SPIFFE ID \
                         (spiffe://TRUST_DOMAIN/ROLE/NAME): {e}"
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            ttl: config.challenge_ttl_seconds,
            audience: config
                .audience
                .clone()
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| issuer.to_owned()),
            services: config.required_for_services.iter().cloned().collect(),
            counters,
            last_purge: AtomicI64::new(0),
        })
    }

    /// Must a bound card redeeming `service_code` at `caller` come with a proof?
    fn required(&self, service_code: &str, caller: &str) -> bool {
        self.services.contains(service_code)
            || caller
                .parse::<SpiffeId>()
                .is_ok_and(|id| self.counters.contains(&id))
    }
}

/// The claims of a holder proof.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ProofClaims {
    pub(crate) nonce: String,
    pub(crate) aud: String,
    pub(crate) iat: i64,
    pub(crate) sd_hash: String,
}

/// A proof split and read, its signature not yet checked.
#[derive(Debug)]
pub(crate) struct ParsedProof {
    pub(crate) claims: ProofClaims,
    signing_input: String,
    signature: Signature,
    /// The signature part as it came, for jsonwebtoken.
    signature_b64: String,
}

/// What the offline checks compare a proof with.
pub(crate) struct Expected<'a> {
    pub(crate) key: &'a HolderKey,
    /// The presented card token, without its QR prefix.
    pub(crate) token: &'a str,
    /// The first is this gateway's own; any of them is accepted.
    pub(crate) audience: &'a [&'a str],
    pub(crate) now: i64,
    pub(crate) skew: i64,
    /// The oldest `iat` accepted is now - max_age - skew.
    pub(crate) max_age: i64,
}

/// base64url(SHA-256(token)): what `sd_hash` must be for `token`.
pub fn sd_hash(token: &str) -> String {
    b64(Sha256::digest(token.as_bytes()))
}

/// Why a holder proof is refused (the verdict's detail): which part is wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProofError {
    #[error("holder proof is larger than {MAX_PROOF_BYTES} bytes")]
    TooLarge,
    #[error("holder proof: {0}")]
    Structure(#[from] JwsError),
    #[error("holder proof header: crit, jku, x5u, jwk and x5c are refused")]
    UnsupportedHeader,
    #[error("holder proof header: typ must be {HOLDER_PROOF_TYPE}")]
    WrongType,
    #[error("holder proof header: alg {0:?} is not allowed (EdDSA)")]
    AlgorithmNotAllowed(String),
    #[error("holder proof claims must hold nonce, aud, iat (integer) and sd_hash: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("holder proof signature is not 64 bytes")]
    SignatureLength,
    #[error("the card's cnf.jwk is not an Ed25519 key")]
    HolderKey,
    #[error("holder proof signature does not match the card's cnf.jwk")]
    BadSignature,
    #[error("holder proof aud {0:?} is not this gateway ({1:?})")]
    WrongAudience(String, String),
    #[error("holder proof iat is in the future")]
    FromTheFuture,
    #[error("holder proof iat is older than a challenge lives")]
    TooOld,
    #[error("holder proof sd_hash does not match the presented card token")]
    OtherToken,
    #[error("holder proof nonce is empty or too long")]
    BadNonce,
}

/// Reads a proof: structure, header (`typ` kb+jwt, `alg` EdDSA or Ed25519, no key or URL
/// headers) and claims. Says which part is wrong.
pub(crate) fn parse(proof: &str) -> Result<ParsedProof, ProofError> {
    let proof = proof.trim();
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::TooLarge);
    }
    let mut buffer = vec![0u8; CompactJws::buffer_len(proof)];
    let jws = CompactJws::parse(proof, &mut buffer)?;
    if jws.header.has_unsupported_fields() {
        return Err(ProofError::UnsupportedHeader);
    }
    if jws.header.typ.as_deref() != Some(HOLDER_PROOF_TYPE) {
        return Err(ProofError::WrongType);
    }
    if !matches!(&*jws.header.alg, "EdDSA" | "Ed25519") {
        return Err(ProofError::AlgorithmNotAllowed(jws.header.alg.to_string()));
    }
    let claims: ProofClaims = serde_json::from_slice(jws.payload)?;
    let signature =
        Signature::from_slice(jws.signature).map_err(|_| ProofError::SignatureLength)?;
    Ok(ParsedProof {
        signing_input: jws.signing_input.to_owned(),
        claims,
        signature,
        signature_b64: jws.signature_b64.to_owned(),
    })
}

impl ParsedProof {
    /// Every check that needs no database: signature under the card's holder key, audience,
    /// time and the hash of the presented token. The nonce is left for the store.
    pub(crate) fn check(&self, want: &Expected<'_>) -> Result<(), ProofError> {
        let key = want.key.verifying_key().ok_or(ProofError::HolderKey)?;
        if !Ed25519Key::new(&key).verify(
            self.signing_input.as_bytes(),
            &self.signature.to_bytes(),
            &self.signature_b64,
        ) {
            return Err(ProofError::BadSignature);
        }
        let c = &self.claims;
        if !want.audience.contains(&c.aud.as_str()) {
            return Err(ProofError::WrongAudience(
                c.aud.clone(),
                want.audience
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
        if c.iat > want.now + want.skew {
            return Err(ProofError::FromTheFuture);
        }
        if c.iat < want.now - want.max_age - want.skew {
            return Err(ProofError::TooOld);
        }
        if c.sd_hash != sd_hash(want.token) {
            return Err(ProofError::OtherToken);
        }
        if c.nonce.is_empty() || c.nonce.len() > MAX_NONCE_CHARS {
            return Err(ProofError::BadNonce);
        }
        Ok(())
    }
}

/// Signs a holder proof for `credential` (a token or QR payload): what a holder's device
/// does. The gateway itself never holds a holder key; the CLI's `holder prove` uses this.
pub fn sign_holder_proof(
    key: &SigningKey,
    credential: &str,
    nonce: &str,
    audience: &str,
    iat: i64,
) -> String {
    let header = jose::header(jsonwebtoken::Algorithm::EdDSA, HOLDER_PROOF_TYPE, None);
    let claims = serde_json::json!({
        "nonce": nonce,
        "aud": audience,
        "iat": iat,
        "sd_hash": sd_hash(strip_qr_prefix(credential)),
    });
    // A JSON object and an Ed25519 PKCS#8 key: encoding cannot fail.
    jose::sign(&header, &claims, &jose::ed25519_encoding_key(key)).expect("a holder proof signs")
}

fn refuse(mut v: Verdict, reason: Reason, detail: impl Into<String>) -> Verdict {
    v.reason = reason;
    v.detail = detail.into();
    v
}

impl Verification {
    /// A fresh nonce. Nothing is written: the nonce carries its expiry under an HMAC
    /// (`challenge_nonce.rs`), so a flood of challenges costs no database work. Purges
    /// expired nonces now and then, in the background.
    pub async fn create_challenge(&self) -> Result<Challenge, ServiceError> {
        let policy = &self.holder;
        let t = now();
        let expires_at = t + policy.ttl;
        let challenge = Challenge {
            nonce: self.nonce_key.mint(expires_at),
            audience: policy.audience.clone(),
            expires_at,
        };
        let last = policy.last_purge.load(Ordering::Relaxed);
        if t - last >= PURGE_EVERY_SECONDS
            && policy
                .last_purge
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // Kept a skew past expiry, so that a late proof hears "expired", not "unknown".
            let store = self.store.clone();
            let before = t - self.policy.clock_skew;
            tokio::spawn(async move {
                match store.purge_challenges(before).await {
                    Ok(n) if n > 0 => tracing::debug!(purged = n, "expired holder challenges"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging holder challenges failed"),
                }
            });
        }
        Ok(challenge)
    }

    /// Uses a nonce once across every replica: one of ours by one INSERT (its expiry is in
    /// it), one stored by an earlier version by the conditional UPDATE it was made for.
    async fn consume_nonce(&self, nonce: &str, t: i64) -> Result<ChallengeUse, ServiceError> {
        Ok(match self.nonce_key.open(nonce) {
            Some(expires_at) if expires_at <= t => ChallengeUse::Expired,
            Some(expires_at) => {
                self.store
                    .consume_minted_challenge(nonce, expires_at, t)
                    .await?
            }
            None => self.store.consume_challenge(nonce, t).await?,
        })
    }

    /// Checks `proof` (may be empty) for the card `v` verified from `credential`. A refused
    /// card stays refused and touches nothing; without a proof a bound card is
    /// HOLDER_PROOF_REQUIRED when `required`, and a card without `cnf` never is. Only a
    /// proof that passes every other check consumes its nonce. Fails only when the
    /// database cannot be asked about the nonce.
    pub async fn bind_holder(
        &self,
        v: Verdict,
        credential: &str,
        proof: &str,
        required: bool,
    ) -> Result<Verdict, ServiceError> {
        if !v.valid() {
            return Ok(v);
        }
        if proof.trim().is_empty() {
            if required && v.holder_key.is_some() {
                return Ok(refuse(
                    v,
                    Reason::HolderProofRequired,
                    "the card is bound to a holder key: a holder proof (kb+jwt) is required",
                ));
            }
            return Ok(v);
        }
        let Some(key) = v.holder_key.clone() else {
            return Ok(refuse(
                v,
                Reason::HolderProofInvalid,
                "the card is not bound to a holder key (no cnf.jwk): there is nothing to prove",
            ));
        };
        let parsed = match parse(proof) {
            Ok(p) => p,
            Err(e) => return Ok(refuse(v, Reason::HolderProofInvalid, e.to_string())),
        };
        let t = now();
        let want = Expected {
            key: &key,
            token: strip_qr_prefix(credential),
            audience: &[&self.holder.audience],
            now: t,
            skew: self.policy.clock_skew,
            max_age: self.holder.ttl,
        };
        if let Err(e) = parsed.check(&want) {
            return Ok(refuse(v, Reason::HolderProofInvalid, e.to_string()));
        }
        let detail = match self.consume_nonce(&parsed.claims.nonce, t).await? {
            ChallengeUse::Consumed => return Ok(v),
            ChallengeUse::Expired => "holder proof nonce has expired",
            ChallengeUse::AlreadyUsed => "holder proof nonce was used before (a replay)",
            ChallengeUse::Unknown => "holder proof nonce was not issued by this gateway",
        };
        Ok(refuse(v, Reason::HolderProofInvalid, detail))
    }

    /// The home region's check of a proof a partner forwards with a quota reservation: the
    /// host consumed its nonce already, so here everything but the nonce is checked
    /// (signature under `cnf`, `sd_hash`, `iat`), with `aud` this gateway's audience, its
    /// issuer or the calling partner's issuer (`partner_issuer`). Without a proof a bound
    /// card is HOLDER_PROOF_REQUIRED when `required`. Writes nothing.
    pub(crate) fn check_forwarded_proof(
        &self,
        v: Verdict,
        credential: &str,
        proof: &str,
        required: bool,
        partner_issuer: &str,
    ) -> Verdict {
        if !v.valid() {
            return v;
        }
        if proof.trim().is_empty() {
            if required && v.holder_key.is_some() {
                return refuse(
                    v,
                    Reason::HolderProofRequired,
                    "the card is bound to a holder key: its home region requires a holder \
                     proof (kb+jwt) for this service",
                );
            }
            return v;
        }
        let Some(key) = v.holder_key.clone() else {
            return refuse(
                v,
                Reason::HolderProofInvalid,
                "the card is not bound to a holder key (no cnf.jwk): there is nothing to prove",
            );
        };
        let parsed = match parse(proof) {
            Ok(p) => p,
            Err(e) => return refuse(v, Reason::HolderProofInvalid, e.to_string()),
        };
        let audiences = [
            self.holder.audience.as_str(),
            self.policy.issuer.as_str(),
            partner_issuer,
        ];
        let want = Expected {
            key: &key,
            token: strip_qr_prefix(credential),
            audience: &audiences,
            now: now(),
            skew: self.policy.clock_skew,
            max_age: self.holder.ttl,
        };
        match parsed.check(&want) {
            Ok(()) => v,
            Err(e) => refuse(v, Reason::HolderProofInvalid, e.to_string()),
        }
    }

    /// Whether the configuration asks bound cards for a proof for `service_code`, whoever
    /// asks (the home side of a reservation: the counters list names this region's own).
    pub(crate) fn proof_required_for_service(&self, service_code: &str) -> bool {
        self.holder.services.contains(service_code)
    }

    /// Whether the configuration asks bound cards for a proof when `caller` redeems
    /// `service_code`.
    pub(crate) fn proof_required(&self, service_code: &str, caller: &str) -> bool {
        self.holder.required(service_code, caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJDUTEifQ.c2ln";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    fn holder() -> HolderKey {
        HolderKey::from_raw(key().verifying_key().as_bytes()).expect("point")
    }

    fn want<'a>(key: &'a HolderKey, token: &'a str) -> Expected<'a> {
        Expected {
            key,
            token,
            audience: &["urn:cn:500000:talent-card"],
            now: 1_800_000_000,
            skew: 60,
            max_age: 120,
        }
    }

    fn signed(header: serde_json::Value, claims: serde_json::Value) -> String {
        crate::credential::sign_compact(&header, claims.to_string().as_bytes(), &key())
    }

    fn claims(iat: i64) -> serde_json::Value {
        serde_json::json!({
            "nonce": "n0nce", "aud": "urn:cn:500000:talent-card", "iat": iat,
            "sd_hash": sd_hash(TOKEN),
        })
    }

    #[test]
    fn a_signed_proof_parses_and_checks() {
        let k = holder();
        let proof = sign_holder_proof(
            &key(),
            &format!("NCTC1:{TOKEN}"),
            "n0nce",
            "urn:cn:500000:talent-card",
            1_800_000_000,
        );
        let p = parse(&proof).expect("parses");
        assert_eq!(p.claims.nonce, "n0nce");
        assert_eq!(p.claims.iat, 1_800_000_000);
        p.check(&want(&k, TOKEN)).expect("checks");
    }

    #[test]
    fn sd_hash_is_base64url_sha256_of_the_token() {
        // SHA-256("abc"), RFC 6234's test vector, in base64url.
        assert_eq!(
            sd_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn header_and_claims_problems_are_named() {
        let ok_header = serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt"});
        let cases = [
            (
                signed(serde_json::json!({"alg": "EdDSA", "typ": "JWT"}), claims(1)),
                "typ",
            ),
            (
                signed(serde_json::json!({"alg": "EdDSA"}), claims(1)),
                "typ",
            ),
            (
                signed(
                    serde_json::json!({"alg": "ES256", "typ": "kb+jwt"}),
                    claims(1),
                ),
                "alg",
            ),
            (
                signed(
                    serde_json::json!({"alg": "none", "typ": "kb+jwt"}),
                    claims(1),
                ),
                "alg",
            ),
            (
                signed(
                    serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt", "jwk": {}}),
                    claims(1),
                ),
                "jwk",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"aud": "a", "iat": 1, "sd_hash": "x"}),
                ),
                "nonce",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"nonce": "n", "aud": "a", "iat": "1", "sd_hash": "x"}),
                ),
                "iat",
            ),
            (
                signed(
                    ok_header.clone(),
                    serde_json::json!({"nonce": "n", "aud": ["a"], "iat": 1, "sd_hash": "x"}),
                ),
                "aud",
            ),
            ("a.b".to_owned(), "three parts"),
            ("x".repeat(MAX_PROOF_BYTES + 1), "larger"),
        ];
        for (proof, word) in cases {
            let e = parse(&proof).expect_err(&proof).to_string();
            assert!(e.contains(word), "{e:?} should name {word}");
        }
        let ed = signed(
            serde_json::json!({"alg": "Ed25519", "typ": "kb+jwt"}),
            claims(1),
        );
        assert!(parse(&ed).is_ok(), "the RFC 9864 name is accepted");
    }

    #[test]
    fn each_offline_check_says_what_failed() {
        let k = holder();
        let t = 1_800_000_000;
        let check = |proof: &str, token: &str| {
            parse(proof)
                .expect("parses")
                .check(&want(&k, token))
                .expect_err("refused")
                .to_string()
        };
        let good = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t);
        assert!(check(&good, "other.token.x").contains("sd_hash"));
        let aud = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:510700:kjc-talent-card", t);
        assert!(check(&aud, TOKEN).contains("aud"));
        let future = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t + 61);
        assert!(check(&future, TOKEN).contains("future"));
        let old = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", t - 181);
        assert!(check(&old, TOKEN).contains("older"));
        let other = SigningKey::from_bytes(&[7; 32]);
        let forged = sign_holder_proof(&other, TOKEN, "n", "urn:cn:500000:talent-card", t);
        assert!(check(&forged, TOKEN).contains("signature"));
        let empty = sign_holder_proof(&key(), TOKEN, "", "urn:cn:500000:talent-card", t);
        assert!(check(&empty, TOKEN).contains("nonce"));
        // The edges of the window pass.
        for iat in [t + 60, t - 180] {
            let p = sign_holder_proof(&key(), TOKEN, "n", "urn:cn:500000:talent-card", iat);
            parse(&p)
                .expect("parses")
                .check(&want(&k, TOKEN))
                .expect("in window");
        }
    }

    #[tokio::test]
    async fn nonces_are_single_use_and_expired_ones_are_purged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gw, store) = crate::service::test_support::gateway_and_store(dir.path()).await;
        let t = now();
        // Nonces an earlier version stored as rows.
        store
            .insert_challenge("old", t - 3600)
            .await
            .expect("insert");
        store.insert_challenge("late", t - 1).await.expect("insert");
        store
            .insert_challenge("stored", t + 60)
            .await
            .expect("insert");
        // The first challenge of a process purges what expired more than a skew ago, in the
        // background; the challenge itself writes nothing.
        let c = gw.verification.create_challenge().await.expect("challenge");
        assert!((t + 120..=t + 121).contains(&c.expires_at));
        assert!(b64_decode_len(&c.nonce) >= 16);
        for _ in 0..100 {
            if used(store.as_ref(), "old").await == ChallengeUse::Unknown {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let store = store.as_ref();
        assert_eq!(used(store, "old").await, ChallengeUse::Unknown);
        assert_eq!(used(store, "late").await, ChallengeUse::Expired);
        assert_eq!(used(store, &c.nonce).await, ChallengeUse::Unknown, "no row");
        // Consumed through the gateway: ours by one INSERT, an earlier version's by UPDATE.
        assert_eq!(
            gw.verification
                .consume_nonce(&c.nonce, t)
                .await
                .expect("use"),
            ChallengeUse::Consumed
        );
        assert_eq!(
            gw.verification
                .consume_nonce(&c.nonce, t)
                .await
                .expect("use"),
            ChallengeUse::AlreadyUsed
        );
        assert_eq!(
            gw.verification
                .consume_nonce("stored", t)
                .await
                .expect("use"),
            ChallengeUse::Consumed
        );
        assert_eq!(
            gw.verification
                .consume_nonce("stored", t)
                .await
                .expect("use"),
            ChallengeUse::AlreadyUsed
        );
        assert_eq!(
            gw.verification
                .consume_nonce("never", t)
                .await
                .expect("use"),
            ChallengeUse::Unknown
        );
        let expired = gw.verification.nonce_key.mint(t - 1);
        assert_eq!(
            gw.verification
                .consume_nonce(&expired, t)
                .await
                .expect("use"),
            ChallengeUse::Expired
        );
        // A forged expiry: not ours, and not stored either.
        let forged = crate::service::challenge_nonce::NonceKey::derive(&[1; 32]).mint(t + 60);
        assert_eq!(
            gw.verification
                .consume_nonce(&forged, t)
                .await
                .expect("use"),
            ChallengeUse::Unknown
        );
    }

    async fn used(store: &dyn crate::store::Store, nonce: &str) -> ChallengeUse {
        store
            .consume_challenge(nonce, now())
            .await
            .expect("consume")
    }

    fn b64_decode_len(s: &str) -> usize {
        crate::credential::b64_decode(s).map_or(0, |b| b.len())
    }

    #[test]
    fn policy_names_services_and_counters() {
        let cfg = HolderProofSettings {
            challenge_ttl_seconds: 120,
            required_for_services: vec!["CQ10".into()],
            required_for_counters: vec!["spiffe://cq.talent/counter/hospital".into()],
            ..Default::default()
        };
        let p = HolderPolicy::new(&cfg, "urn:cn:500000:talent-card").expect("policy");
        assert_eq!(p.audience, "urn:cn:500000:talent-card");
        assert!(p.required("CQ10", "spiffe://cq.talent/counter/desk"));
        assert!(p.required("CQ01", "spiffe://cq.talent/counter/hospital"));
        assert!(!p.required("CQ01", "spiffe://cq.talent/counter/desk"));
        // As SPIFFE IDs: the trust domain is case-blind; a longer name or another role, a
        // prefix or junk is another identity.
        assert!(p.required("CQ01", "spiffe://CQ.Talent/counter/hospital"));
        for other in [
            "spiffe://cq.talent/counter/hospital2",
            "spiffe://cq.talent/counter/hospita",
            "spiffe://cq.talent/operator/hospital",
            "spiffe://cq.talent/counter/hospital/x",
            "spiffe://cq.talent/counter/hospital ",
            "public",
        ] {
            assert!(!p.required("CQ01", other), "{other}");
        }
    }

    #[test]
    fn a_counter_entry_that_is_not_a_spiffe_id_is_named() {
        for bad in [
            "cq.talent/counter/hospital",
            "spiffe://cq.talent/counter",
            "spiffe://cq.talent/desk/hospital",
            "spiffe://cq talent/counter/hospital",
        ] {
            let cfg = HolderProofSettings {
                challenge_ttl_seconds: 120,
                required_for_counters: vec!["spiffe://cq.talent/counter/ok".into(), bad.into()],
                ..Default::default()
            };
            let e = HolderPolicy::new(&cfg, "urn:cn:500000:talent-card")
                .expect_err(bad)
                .to_string();
            assert!(
                e.contains(bad) && e.contains("required_for_counters"),
                "{e}"
            );
        }
    }
}
