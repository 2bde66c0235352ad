//! One audit record: the fact the audit log keeps, before it is chained and stored.

/// One audit record: who did what to which object, and how it ended (GB/T 22239 fields).
/// Never holds personal data beyond a card number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// Caller subject (SPIFFE ID or "public").
    pub caller: String,
    /// Event type, e.g. "card.issue".
    pub event: String,
    /// Object, e.g. a card number.
    pub object: String,
    /// "ok", "denied", an error code...
    pub result: String,
    /// Free text without personal data (purpose, reason).
    pub detail: String,
}
