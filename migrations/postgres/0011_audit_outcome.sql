-- Each audit entry says how the request ended: done (2xx), refused (401, 403 or 404: not the
-- caller's to see or change), invalid (another 4xx: nothing was changed) or failed (5xx).
-- Entries written before this migration were written before their request ended: NULL.
ALTER TABLE audit_log ADD COLUMN outcome TEXT
    CHECK (outcome IN ('done', 'refused', 'invalid', 'failed'));
