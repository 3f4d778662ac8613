-- One-time codes that let a person choose a new password: created by their care team (handed
-- over in person) or sent by e-mail at their own request. Only the code's hash is kept; a code
-- works once, until it expires, and a newer code for the same person voids the older ones.
CREATE TABLE password_resets (
    code_hash  TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    -- The staff member who made it; NULL when the person asked for it by e-mail.
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
