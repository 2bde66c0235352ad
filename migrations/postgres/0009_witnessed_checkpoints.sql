-- Witnessed audit checkpoints (issue 17). Our own signed checkpoints of the audit chain,
-- one per sequence (replicas racing for the same head agree on one row), with the
-- countersignature each partner answered; and the checkpoints partners asked us to
-- witness, one per partner and sequence, kept for their `audit verify`.
-- Heads are the chain's SHA-256 hash as stored in audit_log.hash.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    head BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE audit_checkpoint_witnesses (
    seq BIGINT NOT NULL REFERENCES audit_checkpoints (seq) ON DELETE CASCADE,
    partner_id TEXT NOT NULL,
    countersignature TEXT NOT NULL,
    witnessed_at BIGINT NOT NULL,
    PRIMARY KEY (seq, partner_id)
);
CREATE TABLE witnessed_checkpoints (
    partner_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    head BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    countersignature TEXT NOT NULL,
    witnessed_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, seq)
);
