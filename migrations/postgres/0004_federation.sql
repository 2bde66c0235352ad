-- Federation with partner gateways: the last good trust bundle per partner (so a restart
-- keeps verifying while the partner is down), what the last attempt said, and a lease so
-- one replica refreshes each partner at a time. Times in unix milliseconds.
CREATE TABLE partner_federation (
    partner_id TEXT PRIMARY KEY,
    jwks_json TEXT,
    status_list_token TEXT,
    sequence BIGINT NOT NULL DEFAULT 0,
    catalogue_version TEXT NOT NULL DEFAULT '',
    refresh_millis BIGINT NOT NULL DEFAULT 0,
    fetched_at BIGINT,
    last_attempt BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);
