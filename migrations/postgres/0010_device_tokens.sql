-- A band's upload token expires and is renewed by its collector; a patient or their care team
-- can remove (revoke) a band. On renewal the token just replaced stays valid until the new one
-- is first used, so a collector that loses the renewal's answer is not locked out.
-- Bands paired before this migration get a full lifetime (90 days) from now.
ALTER TABLE devices ADD COLUMN token_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN previous_token_hash TEXT;
ALTER TABLE devices ADD COLUMN revoked_at BIGINT;
ALTER TABLE devices ADD COLUMN last_seen_at BIGINT;
UPDATE devices SET token_expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 90 * 86400;
CREATE UNIQUE INDEX devices_by_previous_token ON devices (previous_token_hash);
