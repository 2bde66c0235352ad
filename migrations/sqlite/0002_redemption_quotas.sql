-- Redemptions remember what they answered, so a retry gets the same answer.
ALTER TABLE redemptions ADD COLUMN quota_key TEXT NOT NULL DEFAULT '';
ALTER TABLE redemptions ADD COLUMN remaining BIGINT NOT NULL DEFAULT -1;
ALTER TABLE redemptions ADD COLUMN period_end BIGINT NOT NULL DEFAULT 0;
CREATE INDEX redemptions_by_card ON redemptions (card_id, redeemed_at);

-- Counted quotas, keyed by issuer, card number, the home service that carries the quota
-- (shared by every service mapped to it) and the period. No personal data.
CREATE TABLE quota_usage (
    issuer TEXT NOT NULL,
    card_id TEXT NOT NULL,
    quota_key TEXT NOT NULL,
    period TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (issuer, card_id, quota_key, period)
);
