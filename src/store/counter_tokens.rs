//! Counter tokens as recorded (the id, never the token) and the gateway's sealed secrets.

/// An issued counter token as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CounterTokenRecord {
    /// The token's `jti`.
    pub token_id: String,
    /// The counter it stands for, `spiffe://TRUST_DOMAIN/counter/NAME`.
    pub counter: String,
    /// The operator who issued it.
    pub issued_by: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was revoked, if it was (final).
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// A revocation to record.
#[derive(Debug, Clone)]
pub struct CounterTokenRevocation {
    /// The token's id.
    pub token_id: String,
    /// Why.
    pub reason: String,
    /// Unix seconds.
    pub at: i64,
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now; the token as it is afterwards.
    Revoked(CounterTokenRecord),
    /// It had been revoked before; unchanged.
    AlreadyRevoked(CounterTokenRecord),
    /// No token by that id.
    Unknown,
}
