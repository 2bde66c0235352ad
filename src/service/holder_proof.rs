//! Holder binding, the SD-JWT key-binding pattern: a card may carry its holder's Ed25519 key
//! (`cnf.jwk`); the holder's device answers a nonce from [`Verification::create_challenge`] with a
//! small JWT (`typ` kb+jwt) over `nonce`, `aud`, `iat` and `sd_hash`, the hash of the very
//! token it presents. A proof is checked only after the card itself verified; its nonce is
//! the one database write on the verify path, since single use across replicas needs the
//! database (DESIGN.md).

use super::HolderProofSettings;
use super::{ServiceError, Verdict, Verification, now};
use crate::credential::{Expected, parse_holder_proof, strip_qr_prefix};
use crate::domain::{Reason, SpiffeId};
use crate::store::ChallengeUse;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

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
        let parsed = match parse_holder_proof(proof) {
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
        let parsed = match parse_holder_proof(proof) {
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
