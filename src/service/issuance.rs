//! Issuing New Chongqing Talent Cards and managing their life: renew, suspend, resume, revoke.

use super::{AuditSink, IssuerPolicy, ServiceError, TrustState, now};
use crate::credential::{
    CardClaims, Confirmation, HolderKey, OWN_QR_PREFIX, OWN_TOKEN_TYPE, StatusClaim, StatusListRef,
};
use crate::domain::{
    CardNumber, CardStatus, HolderName, IdNumber, TalentCategory, Tier, TokenProfile,
};
use crate::store::{
    AuditEntry, CardRecord, IdempotencyClaim, IssueOutcome, RenewOutcome, StatusChange, Store,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use zeroize::Zeroizing;

const DAY: i64 = 86_400;
/// Attempts at drawing a free status index and card number before giving up.
const DRAWS: usize = 8;

/// A card's claims as signed: in DOMAIN.md's names, or renamed as the own profile says.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum OwnClaims<'c> {
    Card(&'c CardClaims),
    Renamed(serde_json::Map<String, serde_json::Value>),
}

/// Issuing own cards and changing their status: signs with the own keyring, allocates on
/// the own status board, writes cards and their audit records in one transaction.
pub struct Issuance {
    state: Arc<TrustState>,
    store: Arc<dyn Store>,
    audit: AuditSink,
    policy: IssuerPolicy,
    own_profile: Arc<TokenProfile>,
    id_secret: Zeroizing<[u8; 32]>,
}

/// A parsed IssueCard request: every field already valid in itself.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Holder name.
    pub holder_name: HolderName,
    /// Resident ID number (hashed before storage, never logged).
    pub id_number: IdNumber,
    /// Tier.
    pub tier: Tier,
    /// Talent category.
    pub category: TalentCategory,
    /// Days of validity.
    pub valid_days: u32,
    /// Holder device key for cnf.
    pub holder_key: Option<HolderKey>,
    /// Retry key.
    pub idempotency_key: Option<String>,
}

/// A card as the API returns it (never its ID-number hash or status-list slot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    /// Card number.
    pub card_id: String,
    /// Holder name.
    pub holder_name: String,
    /// Tier letter.
    pub tier: String,
    /// Talent category.
    pub category: String,
    /// Active, suspended or revoked.
    pub status: CardStatus,
    /// Why suspended or revoked.
    pub status_reason: String,
    /// Key that signed `token`.
    pub kid: String,
    /// The current token.
    pub token: String,
    /// Issue time of the current token (Unix seconds).
    pub issued_at: i64,
    /// Expiry of the current token (Unix seconds).
    pub expires_at: i64,
    /// The own profile's QR prefix (`NCTC1:` for New Chongqing Talent Cards).
    pub qr_prefix: String,
}

impl CardView {
    /// The QR prefix + token.
    pub fn qr_payload(&self) -> String {
        format!("{}{}", self.qr_prefix, self.token)
    }
}

impl Issuance {
    pub(crate) fn new(
        state: Arc<TrustState>,
        store: Arc<dyn Store>,
        audit: AuditSink,
        policy: IssuerPolicy,
        own_profile: Arc<TokenProfile>,
        id_secret: Zeroizing<[u8; 32]>,
    ) -> Self {
        Self {
            state,
            store,
            audit,
            policy,
            own_profile,
            id_secret,
        }
    }

    /// The keyed hash of an ID number: all that is stored of it.
    pub(crate) fn id_hash(&self, id: &IdNumber) -> Vec<u8> {
        use hmac::{Mac, SimpleHmac};
        let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(self.id_secret.as_slice())
            .expect("HMAC takes any key length");
        mac.update(id.expose().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn check_policy(&self, tier: Tier, valid_days: u32) -> Result<(), ServiceError> {
        if !self.policy.tiers.contains(&tier) {
            let names: Vec<_> = self.policy.tiers.iter().map(Tier::as_str).collect();
            return Err(ServiceError::invalid(
                "tier",
                format!(
                    "{tier} is not a tier of {} ({})",
                    self.policy.region,
                    names.join(", ")
                ),
            ));
        }
        if valid_days == 0 || valid_days > self.policy.max_valid_days {
            return Err(ServiceError::invalid(
                "valid_days",
                format!("must be between 1 and {}", self.policy.max_valid_days),
            ));
        }
        Ok(())
    }

    fn request_hash(&self, r: &IssueRequest, id_hash: &[u8]) -> Vec<u8> {
        let mut h = Sha256::new();
        for part in [
            r.holder_name.as_str().as_bytes(),
            id_hash,
            r.tier.as_str().as_bytes(),
            r.category.as_str().as_bytes(),
            &r.valid_days.to_be_bytes(),
            r.holder_key.as_ref().map_or(&[][..], |k| k.x.as_bytes()),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().to_vec()
    }

    /// Signs `card`'s token with the key that signs at its issue time; sets token and kid.
    pub(super) fn sign(&self, card: &mut CardRecord) -> Result<(), ServiceError> {
        let keys = self.state.keyring();
        let signer = keys
            .signer(card.issued_at)
            .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
        let claims = CardClaims {
            iss: self.policy.issuer.clone(),
            sub: card.card_id.clone(),
            iat: card.issued_at,
            nbf: card.issued_at,
            exp: card.expires_at,
            name: card.holder_name.clone(),
            tier: card.tier.clone(),
            cat: card.category.clone(),
            district: self.policy.district.clone(),
            cnf: card
                .holder_key
                .as_deref()
                .and_then(HolderKey::from_raw)
                .map(|jwk| Confirmation { jwk }),
            status: StatusClaim {
                status_list: StatusListRef {
                    idx: card.status_index as u64,
                    uri: self.policy.status_list_uri.clone(),
                },
            },
        };
        let payload = self
            .own_claims(&claims)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let typ = if self.own_profile.typ.is_empty() {
            OWN_TOKEN_TYPE
        } else {
            self.own_profile.typ.as_str()
        };
        card.token = signer
            .sign(typ, &payload)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        card.kid = signer.kid().to_owned();
        Ok(())
    }

    /// The claims under the own profile's names (the same program issues either card).
    fn own_claims<'c>(&self, claims: &'c CardClaims) -> Result<OwnClaims<'c>, serde_json::Error> {
        let names = &self.own_profile.claims;
        if names.card_number == "sub" && names.holder_name == "name" && names.tier == "tier" {
            return Ok(OwnClaims::Card(claims));
        }
        let serde_json::Value::Object(mut map) = serde_json::to_value(claims)? else {
            return Ok(OwnClaims::Card(claims));
        };
        for (ours, theirs) in [
            ("sub", &names.card_number),
            ("name", &names.holder_name),
            ("tier", &names.tier),
        ] {
            if let Some(v) = map.remove(ours) {
                map.insert(theirs.clone(), v);
            }
        }
        Ok(OwnClaims::Renamed(map))
    }

    fn draft(
        &self,
        r: &IssueRequest,
        id_hash: Vec<u8>,
        t: i64,
    ) -> Result<CardRecord, ServiceError> {
        let status_index = self.state.status_mut().allocate().ok_or_else(|| {
            ServiceError::FailedPrecondition(
                "the status list is full; raise status_list_capacity".into(),
            )
        })? as i64;
        let card_id = self.new_card_number();
        let mut card = CardRecord {
            card_id,
            id_hash,
            holder_name: r.holder_name.as_str().to_owned(),
            tier: r.tier.as_str().to_owned(),
            category: r.category.as_str().to_owned(),
            status: CardStatus::Active,
            status_reason: String::new(),
            status_index,
            holder_key: r
                .holder_key
                .as_ref()
                .and_then(HolderKey::verifying_key)
                .map(|k| k.as_bytes().to_vec()),
            kid: String::new(),
            token: String::new(),
            issued_at: t,
            expires_at: t + i64::from(r.valid_days) * DAY,
            updated_at: t,
        };
        self.sign(&mut card)?;
        Ok(card)
    }

    /// Issues one card (see `issue_cards`).
    pub async fn issue_card(
        &self,
        caller: &str,
        r: IssueRequest,
    ) -> Result<CardView, ServiceError> {
        self.issue_cards(caller, vec![r])
            .await?
            .pop()
            .unwrap_or_else(|| Err(ServiceError::Internal("no result".into())))
    }

    /// Issues cards in one transaction; each entry succeeds or fails on its own, in order.
    /// A retried idempotency key returns the original card.
    pub async fn issue_cards(
        &self,
        caller: &str,
        requests: Vec<IssueRequest>,
    ) -> Result<Vec<Result<CardView, ServiceError>>, ServiceError> {
        let t = now();
        let mut results: Vec<Option<Result<CardView, ServiceError>>> = Vec::new();
        let mut pending = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            results.push(None);
            match self.check_policy(r.tier, r.valid_days) {
                Ok(()) => pending.push(i),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let hashes: Vec<Vec<u8>> = requests
            .iter()
            .map(|r| self.id_hash(&r.id_number))
            .collect();
        for _ in 0..DRAWS {
            if pending.is_empty() {
                break;
            }
            let mut batch = Vec::with_capacity(pending.len());
            let mut audit = Vec::with_capacity(pending.len());
            for &i in &pending {
                let r = &requests[i];
                let card = self.draft(r, hashes[i].clone(), t)?;
                let claim = r.idempotency_key.as_ref().map(|k| IdempotencyClaim {
                    caller: caller.to_owned(),
                    operation: "IssueCard",
                    key: k.clone(),
                    request_hash: self.request_hash(r, &hashes[i]),
                });
                audit.push(AuditEntry {
                    at: t,
                    caller: caller.to_owned(),
                    event: "card.issue".into(),
                    object: card.card_id.clone(),
                    result: "ok".into(),
                    detail: format!("tier {}, {} days", card.tier, r.valid_days),
                });
                batch.push((card, claim));
            }
            let outcomes = self.store.issue_cards(&batch, &audit).await?;
            let mut again = Vec::new();
            for (&i, outcome) in pending.iter().zip(outcomes) {
                results[i] = match outcome {
                    IssueOutcome::Issued(c) | IssueOutcome::Replayed(c) => Some(Ok(self.view(*c))),
                    IssueOutcome::KeyReused => Some(Err(ServiceError::AlreadyExists(
                        "idempotency_key: already used for a different request".into(),
                    ))),
                    IssueOutcome::HolderHasLiveCard => Some(Err(ServiceError::AlreadyExists(
                        "id_number: this holder already has a card that is not revoked".into(),
                    ))),
                    IssueOutcome::Collision => {
                        again.push(i);
                        None
                    }
                };
            }
            pending = again;
        }
        results
            .into_iter()
            .map(|r| {
                r.ok_or_else(|| {
                    ServiceError::Unavailable("could not draw a free card number; try again".into())
                })
            })
            .collect()
    }

    /// One card by number.
    pub async fn get_card(&self, card_id: &str) -> Result<CardView, ServiceError> {
        Ok(self.view(self.stored_card(card_id).await?))
    }

    async fn stored_card(&self, card_id: &str) -> Result<CardRecord, ServiceError> {
        let id = self.parse_card_id(card_id)?;
        self.store
            .card(id.as_str())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("card_id: no card {id}")))
    }

    /// A new token for the same card number with a new expiry, signed by the current key.
    pub async fn renew_card(
        &self,
        caller: &str,
        card_id: &str,
        valid_days: u32,
        idempotency_key: Option<String>,
    ) -> Result<CardView, ServiceError> {
        let old = self.stored_card(card_id).await?;
        let tier: Tier = old
            .tier
            .parse()
            .map_err(|_| ServiceError::Internal("stored tier".into()))?;
        self.check_policy(tier, valid_days)?;
        if old.status == CardStatus::Revoked {
            return Err(ServiceError::FailedPrecondition(format!(
                "card {} is revoked; revocation is final",
                old.card_id
            )));
        }
        let t = now();
        let exp = t + i64::from(valid_days) * DAY;
        let mut renewed = CardRecord {
            issued_at: t,
            expires_at: exp,
            updated_at: t,
            ..old.clone()
        };
        self.sign(&mut renewed)?;
        let claim = idempotency_key.map(|key| IdempotencyClaim {
            caller: caller.to_owned(),
            operation: "RenewCard",
            key,
            request_hash: Sha256::digest(format!("{}\n{valid_days}", old.card_id)).to_vec(),
        });
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "card.renew".into(),
            object: old.card_id.clone(),
            result: "ok".into(),
            detail: format!("{valid_days} days"),
        };
        match self
            .store
            .renew_card(&renewed, claim.as_ref(), &audit)
            .await?
        {
            RenewOutcome::Renewed(c) | RenewOutcome::Replayed(c) => Ok(self.view(*c)),
            RenewOutcome::KeyReused => Err(ServiceError::AlreadyExists(
                "idempotency_key: already used for a different request".into(),
            )),
            RenewOutcome::NotRenewable => Err(ServiceError::FailedPrecondition(format!(
                "card {} is revoked; revocation is final",
                old.card_id
            ))),
        }
    }

    /// Suspends an active card.
    pub async fn suspend_card(
        &self,
        caller: &str,
        card_id: &str,
        reason: &str,
    ) -> Result<CardView, ServiceError> {
        self.change_status(
            caller,
            card_id,
            &[CardStatus::Active],
            CardStatus::Suspended,
            reason,
            "card.suspend",
        )
        .await
    }

    /// Resumes a suspended card.
    pub async fn resume_card(&self, caller: &str, card_id: &str) -> Result<CardView, ServiceError> {
        self.change_status(
            caller,
            card_id,
            &[CardStatus::Suspended],
            CardStatus::Active,
            "",
            "card.resume",
        )
        .await
    }

    /// Revokes a card for good.
    pub async fn revoke_card(
        &self,
        caller: &str,
        card_id: &str,
        reason: &str,
    ) -> Result<CardView, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "say why the card is revoked",
            ));
        }
        self.change_status(
            caller,
            card_id,
            &[CardStatus::Active, CardStatus::Suspended],
            CardStatus::Revoked,
            reason,
            "card.revoke",
        )
        .await
    }

    async fn change_status(
        &self,
        caller: &str,
        card_id: &str,
        from: &'static [CardStatus],
        to: CardStatus,
        reason: &str,
        event: &str,
    ) -> Result<CardView, ServiceError> {
        let id = self.parse_card_id(card_id)?;
        if reason.chars().count() > 500 {
            return Err(ServiceError::invalid("reason", "at most 500 characters"));
        }
        let t = now();
        let change = StatusChange {
            card_id: id.to_string(),
            from,
            to,
            reason: reason.trim().to_owned(),
            at: t,
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: event.to_owned(),
            object: id.to_string(),
            result: "ok".into(),
            detail: reason.trim().to_owned(),
        };
        let Some((record, changed)) = self.store.change_status(&change, &audit).await? else {
            return Err(ServiceError::NotFound(format!("card_id: no card {id}")));
        };
        if !changed {
            self.audit.event(
                caller,
                event,
                id.as_str(),
                "refused",
                &format!("card is {}", record.status),
            );
            return Err(ServiceError::FailedPrecondition(format!(
                "card {id} is {}; cannot {}",
                record.status,
                event.trim_start_matches("card.")
            )));
        }
        // Visible to this replica's verify path at once; others follow the sequence.
        self.state.status_mut().set(record.status_index, to);
        if let Err(e) = self.state.refresh().await {
            tracing::warn!(error = %e, "refresh after a status change failed; the poller retries");
        }
        Ok(self.view(record))
    }

    /// A card as the API returns it, with the own profile's QR prefix.
    fn view(&self, record: CardRecord) -> CardView {
        let prefix = match self.own_profile.qr_prefix.as_str() {
            "" => OWN_QR_PREFIX,
            p => p,
        };
        CardView {
            card_id: record.card_id,
            holder_name: record.holder_name,
            tier: record.tier,
            category: record.category,
            status: record.status,
            status_reason: record.status_reason,
            kid: record.kid,
            token: record.token,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            qr_prefix: prefix.to_owned(),
        }
    }
}

impl Issuance {
    /// An own card number: the own profile's shape when it fixes one, else a checked one.
    fn parse_card_id(&self, card_id: &str) -> Result<CardNumber, ServiceError> {
        match &self.own_profile.card_number {
            Some(shape) if shape.matches(card_id.trim()) => Ok(CardNumber::foreign(card_id.trim())),
            Some(shape) => Err(ServiceError::invalid(
                "card_id",
                format!("must be {} and {} digits", shape.prefix, shape.digits),
            )),
            None => card_id
                .parse::<CardNumber>()
                .map_err(|e| ServiceError::invalid("card_id", e)),
        }
    }

    /// Draws a card number in the own profile's shape.
    fn new_card_number(&self) -> String {
        match &self.own_profile.card_number {
            Some(shape) => {
                let mut s = shape.prefix.clone();
                for _ in 0..shape.digits {
                    s.push(char::from(b'0' + rand::random::<u8>() % 10));
                }
                s
            }
            None => {
                CardNumber::generate(&self.policy.card_prefix, rand::random::<u64>()).to_string()
            }
        }
    }
}
