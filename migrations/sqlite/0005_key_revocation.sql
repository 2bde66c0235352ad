-- Revoked signing keys, final: this gateway's own (partner_id '') and partners' (by hand
-- through Admin, or learned from the partner's trust bundle). Times in unix seconds.
-- A row is never deleted or changed, so a revoked kid is never trusted again.
CREATE TABLE key_revocations (
    partner_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('admin', 'federation')),
    PRIMARY KEY (partner_id, kid)
);

-- Renewal after a revocation finds the live cards a key signed by their kid.
CREATE INDEX cards_by_kid ON cards (kid);
