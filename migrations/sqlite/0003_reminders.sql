-- Reminders and Web Push, SQLite dialect. Kept column-for-column in step with
-- migrations/postgres/0003_reminders.sql.

-- The server's VAPID key pair, generated on first start (one row).
CREATE TABLE vapid_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT   NOT NULL,
    public_key  TEXT   NOT NULL,
    created_at  INTEGER NOT NULL
);

-- A browser's push subscription. The endpoint is the browser's address at its push service.
CREATE TABLE push_subscriptions (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id),
    endpoint          TEXT   NOT NULL UNIQUE,
    p256dh            TEXT   NOT NULL,
    auth              TEXT   NOT NULL,
    label             TEXT   NOT NULL,
    created_at        INTEGER NOT NULL,
    last_delivered_at INTEGER
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);

-- What a patient chose (times, days, quiet hours) and their therapist set (medication
-- reminder, two-hour window), as JSON.
CREATE TABLE reminder_settings (
    patient_id INTEGER PRIMARY KEY REFERENCES patients (user_id),
    settings   TEXT   NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One message to one user. `dedupe_key` makes scheduling idempotent; `lease_until` and
-- `leased_by` let several server instances share the work (see docs/reminders.md).
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY,
    kind            TEXT   NOT NULL,
    recipient_id    INTEGER NOT NULL REFERENCES users (id),
    patient_id      INTEGER NOT NULL REFERENCES patients (user_id),
    session_id      INTEGER REFERENCES sessions (id),
    dedupe_key      TEXT   NOT NULL UNIQUE,
    due_at          INTEGER NOT NULL,
    expires_at      INTEGER,
    payload         TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN
                        ('pending', 'sending', 'sent', 'cancelled', 'expired', 'failed', 'undeliverable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    leased_by       TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX reminders_due ON reminders (state, next_attempt_at);
CREATE INDEX reminders_by_patient ON reminders (patient_id, due_at);
CREATE INDEX reminders_by_session ON reminders (session_id);

-- Every attempt to hand a reminder to a push service.
CREATE TABLE push_deliveries (
    id              INTEGER PRIMARY KEY,
    reminder_id     INTEGER NOT NULL REFERENCES reminders (id),
    subscription_id INTEGER,
    endpoint_host   TEXT   NOT NULL,
    at              INTEGER NOT NULL,
    status          INTEGER,
    outcome         TEXT   NOT NULL,
    error           TEXT,
    duration_ms     INTEGER NOT NULL,
    worker          TEXT   NOT NULL
);
CREATE INDEX push_deliveries_by_reminder ON push_deliveries (reminder_id);
