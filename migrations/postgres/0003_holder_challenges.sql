-- Nonces for holder proofs (kb+jwt), single use across replicas: a proof consumes its nonce
-- with one conditional UPDATE, so two gateways cannot both accept it.
CREATE TABLE holder_challenges (
    nonce TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX holder_challenges_by_expiry ON holder_challenges (expires_at);
