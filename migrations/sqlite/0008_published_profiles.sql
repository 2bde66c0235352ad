-- A federated partner entry with profile = "published" takes its token profile from the
-- partner's trust bundle: the last good one is kept beside its keys, so a restart keeps
-- verifying with it while the partner is down. NULL for every other partner.
ALTER TABLE partner_federation ADD COLUMN profile_toml TEXT;
