//! The outcome of verifying one credential, as every caller sees it.

use crate::credential::HolderKey;
use crate::domain::{Reason, Tier};
use crate::recognition::Recognition;
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
    /// The one constructor: nothing read from the card yet.
    #[inline]
    fn new(reason: Reason, detail: String, issuer_region: String) -> Self {
        Self {
            reason,
            detail,
            issuer_region,
            card_id: String::new(),
            holder_name: String::new(),
            native_tier: String::new(),
            expires_at: 0,
            recognition: None,
            holder_key: None,
        }
    }

    /// A valid verdict from an issuer's region; the later checks may still refuse it.
    #[inline]
    pub fn ok_from(issuer_region: String) -> Self {
        Self::new(Reason::Ok, String::new(), issuer_region)
    }

    /// A refusal before the issuer is known.
    #[inline]
    pub fn refuse(reason: Reason, detail: impl Into<String>) -> Self {
        Self::new(reason, detail.into(), String::new())
    }

    /// This verdict refused for `reason` after all.
    #[inline]
    pub fn with(mut self, reason: Reason, detail: &str) -> Self {
        self.reason = reason;
        self.detail = detail.to_owned();
        self
    }

    /// True when the credential may be used.
    #[inline]
    pub fn valid(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// The tier recognised here, when there is one.
    #[inline]
    pub fn recognised_tier(&self) -> Option<Tier> {
        self.recognition.as_ref().map(|r| r.recognised_tier)
    }
}
