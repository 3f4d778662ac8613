-- Stepwise schema, SQLite dialect. Kept column-for-column in step with
-- migrations/postgres/0001_initial.sql: the same SQL runs against both.
--
-- Conventions: every instant is INTEGER unix seconds (UTC); dates are TEXT 'YYYY-MM-DD';
-- JSON is TEXT; booleans are INTEGER 0/1.

CREATE TABLE clinics (
    id                        INTEGER PRIMARY KEY,
    name                      TEXT    NOT NULL,
    default_rules             TEXT    NOT NULL,
    default_interval_s        INTEGER NOT NULL,
    default_bouts             INTEGER NOT NULL,
    default_rest_s            INTEGER NOT NULL,
    default_sessions_per_week INTEGER NOT NULL,
    created_at                INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    clinic_id     INTEGER NOT NULL REFERENCES clinics (id),
    role          TEXT    NOT NULL CHECK (role IN ('patient', 'therapist', 'clinic_admin')),
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_by_clinic_role ON users (clinic_id, role);

CREATE TABLE patients (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id),
    therapist_id      INTEGER NOT NULL REFERENCES users (id),
    timezone          TEXT    NOT NULL,
    interval_s        INTEGER NOT NULL,
    bouts             INTEGER NOT NULL,
    rest_s            INTEGER NOT NULL,
    sessions_per_week INTEGER NOT NULL,
    frozen            INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
    created_at        INTEGER NOT NULL
);
CREATE INDEX patients_by_therapist ON patients (therapist_id);

CREATE TABLE rules_versions (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (user_id),
    version    INTEGER NOT NULL,
    rules      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id),
    UNIQUE (patient_id, version)
);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (user_id),
    client_id       TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER NOT NULL,
    walked_s        INTEGER NOT NULL,
    bouts           INTEGER NOT NULL,
    pain_before     INTEGER,
    pain_during_max INTEGER,
    effort          INTEGER,
    rest_type       TEXT CHECK (rest_type IN ('sit', 'bend_forward', 'stand_still')),
    notes           TEXT,
    pain_after_2h   INTEGER,
    answered_at     INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (patient_id, client_id)
);
CREATE INDEX sessions_by_patient_start ON sessions (patient_id, started_at);

CREATE TABLE flares (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (user_id),
    client_id  TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    pain       INTEGER NOT NULL,
    notes      TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (patient_id, client_id)
);
CREATE INDEX flares_by_patient_start ON flares (patient_id, started_at);

CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (user_id),
    week_start      TEXT    NOT NULL,
    rules_version   INTEGER NOT NULL,
    rules           TEXT    NOT NULL,
    evidence        TEXT    NOT NULL,
    history         TEXT    NOT NULL,
    output          TEXT    NOT NULL,
    decision        TEXT    NOT NULL CHECK (decision IN ('escalate', 'regress', 'hold', 'advance')),
    applied         INTEGER NOT NULL CHECK (applied IN (0, 1)),
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by INTEGER REFERENCES users (id),
    UNIQUE (patient_id, week_start)
);

CREATE TABLE plan_changes (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (user_id),
    at              INTEGER NOT NULL,
    from_interval_s INTEGER NOT NULL,
    to_interval_s   INTEGER NOT NULL,
    source          TEXT    NOT NULL CHECK (source IN ('review', 'override', 'baseline')),
    reason          TEXT    NOT NULL,
    review_id       INTEGER REFERENCES reviews (id),
    by_user         INTEGER REFERENCES users (id)
);
CREATE INDEX plan_changes_by_patient ON plan_changes (patient_id, at);

CREATE TABLE invites (
    code_hash    TEXT PRIMARY KEY,
    clinic_id    INTEGER NOT NULL REFERENCES clinics (id),
    role         TEXT    NOT NULL CHECK (role IN ('patient', 'therapist', 'clinic_admin')),
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    therapist_id INTEGER REFERENCES users (id),
    timezone     TEXT
);

CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);

CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (user_id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (user_id),
    kind       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    paired_at  INTEGER NOT NULL
);
CREATE INDEX devices_by_patient ON devices (patient_id);

-- The primary key (device, minute) serves the per-device minute range scans.
CREATE TABLE step_samples (
    device_id  INTEGER NOT NULL REFERENCES devices (id),
    minute     INTEGER NOT NULL,
    steps      INTEGER NOT NULL CHECK (steps >= 0),
    heart_rate INTEGER CHECK (heart_rate >= 0),
    PRIMARY KEY (device_id, minute)
) WITHOUT ROWID;

CREATE TABLE sleep_episodes (
    device_id INTEGER NOT NULL REFERENCES devices (id),
    start_at  INTEGER NOT NULL,
    end_at    INTEGER NOT NULL,
    stage     TEXT    NOT NULL CHECK (stage IN ('light', 'deep', 'rem', 'awake', 'asleep')),
    PRIMARY KEY (device_id, start_at),
    CHECK (end_at >= start_at)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES users (id),
    action     TEXT    NOT NULL,
    patient_id INTEGER REFERENCES patients (user_id),
    clinic_id  INTEGER NOT NULL REFERENCES clinics (id)
);
CREATE INDEX audit_log_by_patient ON audit_log (patient_id, at);
