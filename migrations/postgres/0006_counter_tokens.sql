-- Counter tokens one by one: every token issued from this version on is recorded (never
-- the token itself, only its id), so one can be revoked before it expires. Revoked ids are
-- held in memory by every replica and refreshed with the change sequence. Unix seconds.
CREATE TABLE counter_tokens (
    token_id TEXT PRIMARY KEY,
    counter TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoke_reason TEXT
);
CREATE INDEX counter_tokens_expiry ON counter_tokens (expires_at);

-- Secrets of the gateway's own (the counter tokens' HMAC key), sealed under the
-- key-encryption key like the signing keys, with the name as the sealing label.
CREATE TABLE sealed_secrets (
    name TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
