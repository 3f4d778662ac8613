-- A patient may correct or withdraw a walk for a few hours after logging it. The walk row
-- holds what counts now; every change is kept here with what it was before and after, when,
-- and by whom. A withdrawn walk keeps its row (its client id still makes a retried upload
-- idempotent) but no longer counts anywhere.
ALTER TABLE sessions ADD COLUMN withdrawn_at INTEGER;

CREATE TABLE session_changes (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    at         INTEGER NOT NULL,
    by_user    INTEGER NOT NULL REFERENCES users (id),
    action     TEXT NOT NULL CHECK (action IN ('corrected', 'withdrawn')),
    -- The walk as logged before the change and after it (JSON; NULL after a withdrawal).
    before     TEXT NOT NULL,
    after      TEXT
);
CREATE INDEX session_changes_by_session ON session_changes (session_id);
