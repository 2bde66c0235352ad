-- Services that count yuan or days (the annuity, the youth station): what a redemption drew,
-- in its unit. Every earlier row was one use.
ALTER TABLE redemptions ADD COLUMN unit TEXT NOT NULL DEFAULT 'uses';
ALTER TABLE redemptions ADD COLUMN drawn BIGINT NOT NULL DEFAULT 1;
