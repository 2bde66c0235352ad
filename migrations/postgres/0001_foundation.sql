-- The gateway's schema. Times are unix seconds; secrets and hashes are bytea.

-- One row: grows whenever keys, status or catalogue change, so replicas and partners notice.
CREATE TABLE gateway_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL
);
INSERT INTO gateway_state (id, sequence) VALUES (1, 1);

-- Issuer signing keys; private halves sealed under the key-encryption key.
-- generation is unique, so only one replica creates the first key (generation 1).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    generation BIGINT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    published_at BIGINT NOT NULL,
    signs_from BIGINT NOT NULL,
    signed_until BIGINT NOT NULL DEFAULT 0
);

-- Own cards. The resident ID number is stored only as a keyed hash.
CREATE TABLE cards (
    card_id TEXT PRIMARY KEY,
    id_hash BYTEA NOT NULL,
    holder_name TEXT NOT NULL,
    tier TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    status_reason TEXT NOT NULL DEFAULT '',
    status_index BIGINT NOT NULL UNIQUE,
    holder_key BYTEA,
    kid TEXT NOT NULL REFERENCES signing_keys (kid),
    token TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One live card per holder.
CREATE UNIQUE INDEX cards_one_live_card_per_holder ON cards (id_hash) WHERE status <> 'revoked';
CREATE INDEX cards_not_active ON cards (status) WHERE status <> 'active';

-- Idempotency keys, scoped per caller identity and operation.
CREATE TABLE idempotency (
    caller TEXT NOT NULL,
    operation TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (caller, operation, idem_key)
);

-- Partners under the agreement: from the config file (applied at every start) or Admin.
CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    issuer TEXT NOT NULL UNIQUE,
    jwks_file TEXT,
    federation_endpoint TEXT,
    spiffe_id TEXT,
    source TEXT NOT NULL CHECK (source IN ('config', 'admin')),
    suspended INTEGER NOT NULL DEFAULT 0,
    jwks_json TEXT,
    bundle_sequence BIGINT NOT NULL DEFAULT 0,
    refreshed_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- Versioned catalogues and mappings: the imported document, whole.
CREATE TABLE catalogue_versions (
    version TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    effective_from BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- Redemptions at counters, exactly once per idempotency key.
CREATE TABLE redemptions (
    redemption_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    card_id TEXT NOT NULL,
    service_code TEXT NOT NULL,
    period TEXT NOT NULL,
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    catalogue_version TEXT NOT NULL,
    redeemed_at BIGINT NOT NULL,
    UNIQUE (caller, idem_key)
);
CREATE INDEX redemptions_by_holder ON redemptions (issuer, card_id, service_code, period);

-- Append-only, hash-chained audit log (MLPS 2.0). audit_head serialises appends.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    caller TEXT NOT NULL,
    event TEXT NOT NULL,
    object TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
