//! Key revocation: an own key or a partner's, for good. The database holds it (replicas and
//! restarts agree); the refresh loop brings it into memory, so the verify path refuses the
//! kid at key lookup without a round trip.

use super::stated_reason::{MAX_REASON_CHARS, stated_reason};
use super::{KeyState, Keys, Partners, ServiceError, now};
use crate::store::{AuditEntry, CardRecord, KeyRevocationRecord, Store};

/// Cards renewed per transaction: short write locks, and a crash loses at most one batch,
/// which a re-run redoes.
const RENEWAL_BATCH: i64 = 200;

/// The most revocations taken from one partner bundle.
const MAX_PUBLISHED: usize = 1000;

fn checked_kid(kid: &str) -> Result<&str, ServiceError> {
    let kid = kid.trim();
    if kid.is_empty() || kid.len() > 128 {
        return Err(ServiceError::invalid(
            "kid",
            "is required (at most 128 characters)",
        ));
    }
    Ok(kid)
}

impl Keys {
    /// Revokes an own key. If it signs now, the next key signs at once (made now if there
    /// is none): an emergency does not wait for pre-publication. Revoking a revoked key
    /// changes nothing and is no error, so a run cut short can be repeated; with
    /// `renew_cards` the live cards it signed get new tokens. Returns how many.
    pub async fn revoke_key(
        &self,
        caller: &str,
        kid: &str,
        reason: &str,
        renew_cards: bool,
    ) -> Result<u64, ServiceError> {
        let kid = checked_kid(kid)?;
        let reason = stated_reason(reason, "is required: say why the key is revoked")?;
        // Up to date first: the key may be another replica's newest.
        self.state.refresh().await?;
        if !self.keys().iter().any(|k| k.kid == kid) {
            return Err(ServiceError::NotFound(format!(
                "kid: no signing key {kid:?}"
            )));
        }
        let t = now();
        if self.state.keyring().revocation(kid).is_none() {
            let signs_now = self.state.keyring().signer(t).map(|k| k.kid()) == Some(kid);
            let mut promote = None;
            if signs_now {
                let next = self
                    .keys()
                    .into_iter()
                    .filter(|k| k.state == KeyState::Next)
                    .max_by_key(|k| k.signs_from);
                promote = Some(match next {
                    Some(k) => k.kid,
                    None => self.create_key_now(caller).await?,
                });
            }
            let detail = match &promote {
                Some(next) => format!("{reason}; {next} signs from now on"),
                None => reason.clone(),
            };
            let record = KeyRevocationRecord {
                partner_id: String::new(),
                kid: kid.to_owned(),
                revoked_at: t,
                reason,
                source: "admin".into(),
            };
            let audit = AuditEntry {
                at: t,
                caller: caller.to_owned(),
                event: "key.revoke".into(),
                object: kid.to_owned(),
                result: "ok".into(),
                detail,
            };
            self.store
                .revoke_key(&record, promote.as_deref().map(|k| (k, t)), &audit)
                .await?;
            self.state.refresh().await?;
            tracing::warn!(kid, "signing key revoked");
        }
        if !renew_cards {
            return Ok(0);
        }
        let mut renewed = self
            .renew_cards_signed_by(caller, kid, RENEWAL_BATCH, None)
            .await?;
        // A replica that had not yet seen the revocation may have signed a card with the
        // key meanwhile; once every replica has refreshed, a second pass renews those.
        tokio::time::sleep(2 * self.policy.refresh).await;
        renewed += self
            .renew_cards_signed_by(caller, kid, RENEWAL_BATCH, None)
            .await?;
        Ok(renewed)
    }

    /// Gives every live card `kid` signed a new token under the current key (same card,
    /// same status-list index, same expiry), batch by batch. What is renewed no longer
    /// carries `kid`, so a re-run continues where one stopped and renews nothing twice.
    /// `max_batches` stops early (tests of an interrupted run).
    pub(crate) async fn renew_cards_signed_by(
        &self,
        caller: &str,
        kid: &str,
        batch: i64,
        max_batches: Option<usize>,
    ) -> Result<u64, ServiceError> {
        let mut renewed = 0;
        let mut batches = 0;
        let mut idle = 0;
        loop {
            if max_batches.is_some_and(|m| batches >= m) {
                break;
            }
            let t = now();
            let cards = self.store.live_cards_signed_by(kid, t, batch).await?;
            if cards.is_empty() {
                break;
            }
            let mut fresh = Vec::with_capacity(cards.len());
            let mut audits = Vec::with_capacity(cards.len());
            for old in cards {
                let mut card = CardRecord {
                    issued_at: t,
                    updated_at: t,
                    ..old
                };
                self.issuance.sign(&mut card)?;
                if card.kid == kid {
                    return Err(ServiceError::Internal(
                        "the revoked key would sign again".into(),
                    ));
                }
                audits.push(AuditEntry {
                    at: t,
                    caller: caller.to_owned(),
                    event: "card.renew".into(),
                    object: card.card_id.clone(),
                    result: "ok".into(),
                    detail: format!("key {kid} revoked; now signed by {}", card.kid),
                });
                fresh.push(card);
            }
            let n = self.store.replace_tokens(&fresh, kid, &audits).await?;
            renewed += n;
            batches += 1;
            // Another replica renewing the same cards makes batches that change nothing;
            // what it renewed leaves the selection, so this ends.
            idle = if n == 0 { idle + 1 } else { 0 };
            if idle >= 3 {
                break;
            }
        }
        if renewed > 0 {
            tracing::info!(kid, renewed, "cards renewed after a key revocation");
        }
        Ok(renewed)
    }
}

impl Partners {
    /// Revokes a partner's key here, by hand: its tokens get KEY_REVOKED. Allowed for a
    /// partner the config file defines too: it is an emergency. Idempotent.
    pub async fn revoke_partner_key(
        &self,
        caller: &str,
        partner_id: &str,
        kid: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let kid = checked_kid(kid)?;
        let reason = stated_reason(reason, "is required: say why the key is revoked")?;
        if !self
            .store
            .partners()
            .await?
            .iter()
            .any(|p| p.id == partner_id)
        {
            return Err(ServiceError::NotFound(format!(
                "partner_id: no partner {partner_id:?}"
            )));
        }
        let t = now();
        let record = KeyRevocationRecord {
            partner_id: partner_id.to_owned(),
            kid: kid.to_owned(),
            revoked_at: t,
            reason: reason.clone(),
            source: "admin".into(),
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "partner.key.revoke".into(),
            object: format!("{partner_id}/{kid}"),
            result: "ok".into(),
            detail: reason,
        };
        if self.store.revoke_key(&record, None, &audit).await? {
            tracing::warn!(partner = partner_id, kid, "partner key revoked by hand");
        }
        self.state.refresh().await
    }
}

/// Stores the revocations a partner published (bundle or JWK Set) that are not stored
/// yet; each is audited and final.
pub(crate) async fn note_partner_revocations(
    store: &dyn Store,
    partner_id: &str,
    published: &[(String, i64, String)],
) -> Result<(), ServiceError> {
    let known = store.key_revocations().await?;
    // A partner's word is bounded like any input: so many kids, so long a reason.
    for (kid, at, reason) in published.iter().take(MAX_PUBLISHED) {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_REASON_CHARS)
            .collect();
        if known
            .iter()
            .any(|r| r.partner_id == partner_id && &r.kid == kid)
        {
            continue;
        }
        let t = now();
        let record = KeyRevocationRecord {
            partner_id: partner_id.to_owned(),
            kid: kid.clone(),
            revoked_at: if *at > 0 { *at } else { t },
            reason: reason.clone(),
            source: "federation".into(),
        };
        let audit = AuditEntry {
            at: t,
            caller: "system".into(),
            event: "partner.key.revoke".into(),
            object: format!("{partner_id}/{kid}"),
            result: "ok".into(),
            detail: format!("published by the partner: {reason}"),
        };
        if store.revoke_key(&record, None, &audit).await? {
            tracing::warn!(partner = partner_id, kid, "partner revoked a key");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Services;
    use crate::service::test_support::{gateway, issue_request};

    async fn issue(gw: &Services, n: u32) -> CardRecord {
        let card = gw
            .issuance
            .issue_card("test", issue_request(n))
            .await
            .expect("issued");
        gw.store
            .card(&card.card_id)
            .await
            .expect("db")
            .expect("stored")
    }

    async fn renewals(gw: &Services) -> Vec<String> {
        gw.store
            .audit_records(0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .filter(|r| r.event == "card.renew")
            .map(|r| r.object)
            .collect()
    }

    #[tokio::test]
    async fn an_interrupted_renewal_continues_on_a_rerun_and_renews_nothing_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = gateway(dir.path()).await;
        let mut cards = Vec::new();
        for n in 1..=5 {
            cards.push(issue(&gw, n).await);
        }
        let old = cards[0].kid.clone();
        // Revoked without renewal, then a run cut short after one batch of two.
        assert_eq!(
            gw.keys
                .revoke_key("test", &old, "leaked", false)
                .await
                .expect("revoked"),
            0
        );
        let first = gw
            .keys
            .renew_cards_signed_by("test", &old, 2, Some(1))
            .await
            .expect("first batch");
        assert_eq!(first, 2);
        assert_eq!(renewals(&gw).await.len(), 2);
        // The operator runs the command again: the rest, and only the rest.
        let rest = gw
            .keys
            .revoke_key("test", &old, "leaked", true)
            .await
            .expect("re-run");
        assert_eq!(rest, 3);
        let again = gw
            .keys
            .revoke_key("test", &old, "leaked", true)
            .await
            .expect("third run");
        assert_eq!(again, 0);
        let mut renewed = renewals(&gw).await;
        renewed.sort();
        let mut ids: Vec<String> = cards.iter().map(|c| c.card_id.clone()).collect();
        ids.sort();
        assert_eq!(renewed, ids, "each card renewed exactly once");
        let current = gw
            .state
            .keyring()
            .signer(now())
            .expect("signer")
            .kid()
            .to_owned();
        assert_ne!(current, old);
        for c in &cards {
            let now_card = gw.store.card(&c.card_id).await.expect("db").expect("card");
            assert_eq!(now_card.kid, current);
            assert_eq!(now_card.status_index, c.status_index);
            assert_eq!(now_card.expires_at, c.expires_at);
            assert_ne!(now_card.token, c.token);
        }
        // The first revocation stands: the reason and time of a repeat do not replace it.
        let revs = gw.store.key_revocations().await.expect("revocations");
        assert_eq!(revs.len(), 1);
        assert_eq!(revs[0].reason, "leaked");
    }

    fn jwks(kid: &str, revoked: &[&str]) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let x = crate::credential::b64(key.verifying_key().as_bytes());
        let revoked: Vec<_> = revoked
            .iter()
            .map(|k| serde_json::json!({"kid": k, "revoked_at": 1, "reason": "theirs"}))
            .collect();
        serde_json::json!({
            "keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}],
            "revoked": revoked,
        })
        .to_string()
    }

    #[tokio::test]
    async fn a_partners_revoked_kid_stays_revoked_when_its_keys_list_it_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = gateway(dir.path()).await;
        let record = crate::service::NewPartner {
            id: "mianyang".into(),
            profile: "science-city-card-v1".into(),
            issuer: "urn:cn:510700:kjc-talent-card".into(),
            jwks_file: None,
            federation_endpoint: None,
            spiffe_id: None,
            suspended: false,
            jwks_json: Some(jwks("k1", &[])),
        };
        gw.partners
            .add_partner("test", record.clone())
            .await
            .expect("added");
        let bundle = |gw: &Services| {
            gw.state
                .registry()
                .partner(&record.issuer)
                .cloned()
                .expect("partner")
        };
        assert!(bundle(&gw).keys.contains_key("k1"));
        gw.partners
            .revoke_partner_key("test", "mianyang", "k1", "stolen")
            .await
            .expect("revoked");
        let b = bundle(&gw);
        assert!(!b.keys.contains_key("k1") && b.revoked.contains("k1"));
        // New keys that list it again (the partner's next bundle) change nothing.
        gw.partners
            .add_partner("test", record.clone())
            .await
            .expect("again");
        let b = bundle(&gw);
        assert!(!b.keys.contains_key("k1") && b.revoked.contains("k1"));
        // A JWK Set's own `revoked` member is honoured too.
        let other = crate::service::NewPartner {
            jwks_json: Some(jwks("k2", &["k2"])),
            ..record.clone()
        };
        gw.partners
            .add_partner("test", other)
            .await
            .expect("replaced");
        let b = bundle(&gw);
        assert!(!b.keys.contains_key("k2") && b.revoked.contains("k2"));
    }
}
