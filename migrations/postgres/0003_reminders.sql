-- Reminders and Web Push, PostgreSQL dialect. Kept column-for-column in step with
-- migrations/sqlite/0003_reminders.sql.

-- The server's VAPID key pair, generated on first start (one row).
CREATE TABLE vapid_keys (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    private_key TEXT   NOT NULL,
    public_key  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- A browser's push subscription. The endpoint is the browser's address at its push service.
CREATE TABLE push_subscriptions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           BIGINT NOT NULL REFERENCES users (id),
    endpoint          TEXT   NOT NULL UNIQUE,
    p256dh            TEXT   NOT NULL,
    auth              TEXT   NOT NULL,
    label             TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    last_delivered_at BIGINT
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);

-- What a patient chose (times, days, quiet hours) and their therapist set (medication
-- reminder, two-hour window), as JSON.
CREATE TABLE reminder_settings (
    patient_id BIGINT PRIMARY KEY REFERENCES patients (user_id),
    settings   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One message to one user. `dedupe_key` makes scheduling idempotent; `lease_until` and
-- `leased_by` let several server instances share the work (see docs/reminders.md).
CREATE TABLE reminders (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT   NOT NULL,
    recipient_id    BIGINT NOT NULL REFERENCES users (id),
    patient_id      BIGINT NOT NULL REFERENCES patients (user_id),
    session_id      BIGINT REFERENCES sessions (id),
    dedupe_key      TEXT   NOT NULL UNIQUE,
    due_at          BIGINT NOT NULL,
    expires_at      BIGINT,
    payload         TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN
                        ('pending', 'sending', 'sent', 'cancelled', 'expired', 'failed', 'undeliverable')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    leased_by       TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX reminders_due ON reminders (state, next_attempt_at);
CREATE INDEX reminders_by_patient ON reminders (patient_id, due_at);
CREATE INDEX reminders_by_session ON reminders (session_id);

-- Every attempt to hand a reminder to a push service.
CREATE TABLE push_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reminder_id     BIGINT NOT NULL REFERENCES reminders (id),
    subscription_id BIGINT,
    endpoint_host   TEXT   NOT NULL,
    at              BIGINT NOT NULL,
    status          BIGINT,
    outcome         TEXT   NOT NULL,
    error           TEXT,
    duration_ms     BIGINT NOT NULL,
    worker          TEXT   NOT NULL
);
CREATE INDEX push_deliveries_by_reminder ON push_deliveries (reminder_id);
