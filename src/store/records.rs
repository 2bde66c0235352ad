//! Rows as the store reads and writes them.

use crate::domain::CardStatus;
use serde::{Deserialize, Serialize};

/// A signing key as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRecord {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// 1 for the first key, then one more per rotation.
    pub generation: i64,
    /// "EdDSA".
    pub algorithm: String,
    /// Raw public key.
    pub public_key: Vec<u8>,
    /// Private key sealed under the key-encryption key.
    pub sealed_private_key: Vec<u8>,
    /// When it appeared in the JWKS.
    pub published_at: i64,
    /// When it starts signing.
    pub signs_from: i64,
    /// The latest expiry of anything it signed.
    pub signed_until: i64,
}

/// A card as stored (never with the ID number, only its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CardRecord {
    /// Card number.
    pub card_id: String,
    /// HMAC of the resident ID number.
    #[serde(skip)]
    pub id_hash: Vec<u8>,
    /// Holder name.
    pub holder_name: String,
    /// Tier letter.
    pub tier: String,
    /// Talent category.
    pub category: String,
    /// Active, suspended or revoked (stored and serialised by name).
    #[sqlx(try_from = "String")]
    pub status: CardStatus,
    /// Why suspended or revoked.
    pub status_reason: String,
    /// Index in the status list.
    pub status_index: i64,
    /// Raw holder public key, if bound.
    pub holder_key: Option<Vec<u8>>,
    /// Key that signed `token`.
    pub kid: String,
    /// The current token.
    pub token: String,
    /// Issue time of the current token.
    pub issued_at: i64,
    /// Expiry of the current token.
    pub expires_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A card to insert.
pub type NewCard = CardRecord;

/// An idempotency key claimed for one operation by one caller.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// Caller subject.
    pub caller: String,
    /// Operation name, e.g. "IssueCard".
    pub operation: &'static str,
    /// The caller's key.
    pub key: String,
    /// Hash of the request, to tell a retry from a different request.
    pub request_hash: Vec<u8>,
}

/// What became of one card in an issue batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Stored.
    Issued(Box<CardRecord>),
    /// The idempotency key was used before for the same request: the original card.
    Replayed(Box<CardRecord>),
    /// The idempotency key was used before for a different request.
    KeyReused,
    /// The holder already has a card that is not revoked.
    HolderHasLiveCard,
    /// The random status index or card number was taken: draw again.
    Collision,
}

/// What became of a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewOutcome {
    /// Stored.
    Renewed(Box<CardRecord>),
    /// Same key, same request: the original result.
    Replayed(Box<CardRecord>),
    /// Same key, different request.
    KeyReused,
    /// No such card, or it is revoked.
    NotRenewable,
}

/// A status transition.
#[derive(Debug, Clone)]
pub struct StatusChange {
    /// Card number.
    pub card_id: String,
    /// Statuses the card may be in for the change to apply (every one is honoured).
    pub from: &'static [CardStatus],
    /// The new status.
    pub to: CardStatus,
    /// Why.
    pub reason: String,
    /// When.
    pub at: i64,
}

/// A partner as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// Region id.
    pub id: String,
    /// Token profile id.
    pub profile: String,
    /// The partner's `iss`.
    pub issuer: String,
    /// JWKS file, when keys come from one.
    pub jwks_file: Option<String>,
    /// The partner's gateway, when keys come over federation.
    pub federation_endpoint: Option<String>,
    /// Pinned SPIFFE ID.
    pub spiffe_id: Option<String>,
    /// "config" or "admin".
    pub source: String,
    /// Suspended under the agreement.
    pub suspended: bool,
    /// The last good JWK Set.
    pub jwks_json: Option<String>,
    /// The partner's change sequence at the last refresh.
    pub bundle_sequence: i64,
    /// When the keys were last refreshed.
    pub refreshed_at: Option<i64>,
    /// Last change.
    pub updated_at: i64,
}

/// A partner's row: `suspended` is an INTEGER column (0 or 1) on both databases.
#[derive(sqlx::FromRow)]
pub(crate) struct PartnerRow {
    id: String,
    profile: String,
    issuer: String,
    jwks_file: Option<String>,
    federation_endpoint: Option<String>,
    spiffe_id: Option<String>,
    source: String,
    suspended: i32,
    jwks_json: Option<String>,
    bundle_sequence: i64,
    refreshed_at: Option<i64>,
    updated_at: i64,
}

impl From<PartnerRow> for PartnerRecord {
    fn from(r: PartnerRow) -> Self {
        Self {
            id: r.id,
            profile: r.profile,
            issuer: r.issuer,
            jwks_file: r.jwks_file,
            federation_endpoint: r.federation_endpoint,
            spiffe_id: r.spiffe_id,
            source: r.source,
            suspended: r.suspended != 0,
            jwks_json: r.jwks_json,
            bundle_sequence: r.bundle_sequence,
            refreshed_at: r.refreshed_at,
            updated_at: r.updated_at,
        }
    }
}

/// A catalogue version as stored: the document whole.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CatalogueVersionRecord {
    /// Version id.
    pub version: String,
    /// The TOML document.
    pub document: String,
    /// When it takes effect.
    pub effective_from: i64,
    /// When it was imported.
    pub imported_at: i64,
}

/// A redemption as stored, with the answer it got.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RedemptionRecord {
    /// Id returned to the counter.
    pub redemption_id: String,
    /// Issuer of the card.
    pub issuer: String,
    /// Card number.
    pub card_id: String,
    /// Service redeemed (this region's code).
    pub service_code: String,
    /// Quota period ("2026", "life", or "" when not counted).
    pub period: String,
    /// Counter identity.
    pub caller: String,
    /// The counter's idempotency key.
    pub idem_key: String,
    /// Catalogue version used.
    pub catalogue_version: String,
    /// When.
    pub redeemed_at: i64,
    /// The home service that carries the quota.
    pub quota_key: String,
    /// What was left in the period after it; -1 when not counted.
    pub remaining: i64,
    /// End of the period (unix seconds), 0 when none.
    pub period_end: i64,
    /// What the quota counts: "uses", "yuan" or "days" (rows of earlier versions: "uses").
    pub unit: String,
    /// What it drew, in `unit` (1 for a use).
    pub drawn: i64,
}

/// What became of a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// Recorded now.
    Recorded(RedemptionRecord),
    /// The same key and request were recorded before: the original answer.
    Replayed(RedemptionRecord),
    /// The key was used before for another card or service.
    KeyReused,
    /// The allowance of the period is used up; nothing was recorded.
    Exhausted,
}

/// What consuming a holder-proof nonce found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeUse {
    /// Issued here, unexpired and unused: now used.
    Consumed,
    /// Issued here but past its expiry.
    Expired,
    /// Issued here and used before (a replay).
    AlreadyUsed,
    /// Never issued here (or purged long after its expiry).
    Unknown,
}

/// An audit record as stored, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Caller subject.
    pub caller: String,
    /// Event type.
    pub event: String,
    /// Object.
    pub object: String,
    /// Result.
    pub result: String,
    /// Detail.
    pub detail: String,
    /// Hash of the record before.
    pub prev_hash: Vec<u8>,
    /// Hash of this record.
    pub hash: Vec<u8>,
}

/// A partner's federation state: the last good trust bundle and how refreshing goes.
/// Times in unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct FederationRecord {
    /// Partner (region) id.
    pub partner_id: String,
    /// The last good JWK Set.
    pub jwks_json: Option<String>,
    /// The last good signed status list.
    pub status_list_token: Option<String>,
    /// The partner's sequence at the last good refresh (only grows).
    pub sequence: i64,
    /// The partner's catalogue version.
    pub catalogue_version: String,
    /// The partner's refresh hint.
    pub refresh_millis: i64,
    /// When the last good bundle was fetched.
    pub fetched_at: Option<i64>,
    /// When a refresh was last tried.
    pub last_attempt: i64,
    /// Why the last attempt failed; empty when it succeeded.
    pub last_error: String,
    /// Replica holding the refresh lease.
    pub lease_owner: String,
    /// Until when it holds it.
    pub lease_until: i64,
    /// Last write, so replicas notice a change.
    pub updated_at: i64,
    /// The partner's last good published token profile (TOML), kept for a partner entry
    /// with `profile = "published"`.
    pub profile_toml: Option<String>,
}

/// A revoked signing key, final: own (`partner_id` empty) or a partner's.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRevocationRecord {
    /// The partner whose key it is; empty for this gateway's own keys.
    pub partner_id: String,
    /// The key id.
    pub kid: String,
    /// When (unix seconds).
    pub revoked_at: i64,
    /// Why, as the operator (or the partner) said.
    pub reason: String,
    /// "admin" (by hand here) or "federation" (the partner's bundle said so).
    pub source: String,
}

/// One stored sealed key, wherever it is kept (`keys rewrap` goes over them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    /// The table that keeps it.
    pub table: &'static str,
    /// Its row's key in that table.
    pub name: String,
    /// The label it is sealed under.
    pub label: String,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}
