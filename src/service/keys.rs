//! The own signing keys: listing them, rotating (a next key published before it signs), and
//! the emergency key after a revocation (`key_revocation.rs`).

use super::keyring::create_key;
use super::{Issuance, IssuerPolicy, KeyView, ServiceError, TrustState, now};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Own keys: rotation and revocation (revoking may renew the cards a key signed).
pub struct Keys {
    pub(crate) state: Arc<TrustState>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: IssuerPolicy,
    pub(crate) issuance: Arc<Issuance>,
    /// Whether partners poll us, and how often they are asked to: a new key waits for them.
    partners_poll: bool,
    partner_hint: Duration,
}

impl Keys {
    pub(crate) fn new(
        state: Arc<TrustState>,
        store: Arc<dyn Store>,
        policy: IssuerPolicy,
        issuance: Arc<Issuance>,
        partners_poll: bool,
        partner_hint: Duration,
    ) -> Self {
        Self {
            state,
            store,
            policy,
            issuance,
            partners_poll,
            partner_hint,
        }
    }

    /// Every signing key with its state now.
    pub fn keys(&self) -> Vec<KeyView> {
        self.state.keyring().views(now())
    }

    /// Makes the next key: published now, signing after the pre-publication period.
    pub async fn rotate_keys(
        &self,
        caller: &str,
        prepublish: Option<i64>,
    ) -> Result<KeyView, ServiceError> {
        let t = now();
        let mut wait = prepublish.unwrap_or(self.policy.prepublish).max(0);
        // Partners must see a new key before it signs: three of their polls at least.
        if self.partners_poll {
            let polls = (3 * self.partner_hint.as_millis() as u64).div_ceil(1000) as i64;
            wait = wait.max(polls);
        }
        let keys = self.state.keyring();
        if keys
            .views(t)
            .iter()
            .any(|k| k.state == super::KeyState::Next)
        {
            return Err(ServiceError::FailedPrecondition(
                "a next key is already published and waiting to sign; rotate again after it takes over"
                    .into(),
            ));
        }
        let generation = keys.last_generation() + 1;
        let kid = create_key(
            self.store.as_ref(),
            self.state.kek(),
            self.policy.signing_algorithm,
            generation,
            t,
            t + wait,
            caller,
        )
        .await?
        .ok_or_else(|| {
            ServiceError::AlreadyExists("another replica rotated at the same moment".into())
        })?;
        self.state.refresh().await?;
        self.keys()
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| ServiceError::Internal("new key not loaded".into()))
    }

    /// Makes a key that signs at once (the emergency after a revocation, when no next key
    /// is waiting); its kid.
    pub(crate) async fn create_key_now(&self, caller: &str) -> Result<String, ServiceError> {
        let t = now();
        let generation = self.state.keyring().last_generation() + 1;
        create_key(
            self.store.as_ref(),
            self.state.kek(),
            self.policy.signing_algorithm,
            generation,
            t,
            t,
            caller,
        )
        .await?
        .ok_or_else(|| {
            ServiceError::Unavailable(
                "another replica made a key at the same moment; try again".into(),
            )
        })
    }
}
