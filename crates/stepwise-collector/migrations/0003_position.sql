-- A device's sync position, opaque to the outbox: each protocol writes and reads its own
-- text (stepwise_wearables::device::Position). Copied from the columns it replaces, which are
-- no longer read: a Huami or PAMS cursor as unix seconds, an InfiniTime observation as
-- "count@unix-seconds".
ALTER TABLE devices ADD COLUMN position TEXT;
UPDATE devices SET position = CAST(sync_cursor AS TEXT) WHERE sync_cursor IS NOT NULL;
UPDATE devices SET position = infinitime_count || '@' || infinitime_at
    WHERE infinitime_count IS NOT NULL AND infinitime_at IS NOT NULL;
