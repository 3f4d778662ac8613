-- Stepwise schema, PostgreSQL dialect. Kept column-for-column in step with
-- migrations/sqlite/0001_initial.sql: the same SQL runs against both.
--
-- Conventions: every instant is BIGINT unix seconds (UTC); dates are TEXT 'YYYY-MM-DD';
-- JSON is TEXT; booleans are BOOLEAN. Every integer is BIGINT (sqlx decodes it as i64).

CREATE TABLE clinics (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                      TEXT    NOT NULL,
    default_rules             TEXT    NOT NULL,
    default_interval_s        BIGINT  NOT NULL,
    default_bouts             BIGINT  NOT NULL,
    default_rest_s            BIGINT  NOT NULL,
    default_sessions_per_week BIGINT  NOT NULL,
    created_at                BIGINT  NOT NULL
);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id     BIGINT  NOT NULL REFERENCES clinics (id),
    role          TEXT    NOT NULL CHECK (role IN ('patient', 'therapist', 'clinic_admin')),
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX users_by_clinic_role ON users (clinic_id, role);

CREATE TABLE patients (
    user_id           BIGINT PRIMARY KEY REFERENCES users (id),
    therapist_id      BIGINT  NOT NULL REFERENCES users (id),
    timezone          TEXT    NOT NULL,
    interval_s        BIGINT  NOT NULL,
    bouts             BIGINT  NOT NULL,
    rest_s            BIGINT  NOT NULL,
    sessions_per_week BIGINT  NOT NULL,
    frozen            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT  NOT NULL
);
CREATE INDEX patients_by_therapist ON patients (therapist_id);

CREATE TABLE rules_versions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT  NOT NULL REFERENCES patients (user_id),
    version    BIGINT  NOT NULL,
    rules      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    created_by BIGINT REFERENCES users (id),
    UNIQUE (patient_id, version)
);

CREATE TABLE sessions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id      BIGINT  NOT NULL REFERENCES patients (user_id),
    client_id       TEXT    NOT NULL,
    started_at      BIGINT  NOT NULL,
    ended_at        BIGINT  NOT NULL,
    walked_s        BIGINT  NOT NULL,
    bouts           BIGINT  NOT NULL,
    pain_before     BIGINT,
    pain_during_max BIGINT,
    effort          BIGINT,
    rest_type       TEXT CHECK (rest_type IN ('sit', 'bend_forward', 'stand_still')),
    notes           TEXT,
    pain_after_2h   BIGINT,
    answered_at     BIGINT,
    created_at      BIGINT  NOT NULL,
    UNIQUE (patient_id, client_id)
);
CREATE INDEX sessions_by_patient_start ON sessions (patient_id, started_at);

CREATE TABLE flares (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT  NOT NULL REFERENCES patients (user_id),
    client_id  TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    pain       BIGINT  NOT NULL,
    notes      TEXT,
    created_at BIGINT  NOT NULL,
    UNIQUE (patient_id, client_id)
);
CREATE INDEX flares_by_patient_start ON flares (patient_id, started_at);

CREATE TABLE reviews (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id      BIGINT  NOT NULL REFERENCES patients (user_id),
    week_start      TEXT    NOT NULL,
    rules_version   BIGINT  NOT NULL,
    rules           TEXT    NOT NULL,
    evidence        TEXT    NOT NULL,
    history         TEXT    NOT NULL,
    output          TEXT    NOT NULL,
    decision        TEXT    NOT NULL CHECK (decision IN ('escalate', 'regress', 'hold', 'advance')),
    applied         BOOLEAN NOT NULL,
    created_at      BIGINT  NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by BIGINT REFERENCES users (id),
    UNIQUE (patient_id, week_start)
);

CREATE TABLE plan_changes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id      BIGINT  NOT NULL REFERENCES patients (user_id),
    at              BIGINT  NOT NULL,
    from_interval_s BIGINT  NOT NULL,
    to_interval_s   BIGINT  NOT NULL,
    source          TEXT    NOT NULL CHECK (source IN ('review', 'override', 'baseline')),
    reason          TEXT    NOT NULL,
    review_id       BIGINT REFERENCES reviews (id),
    by_user         BIGINT REFERENCES users (id)
);
CREATE INDEX plan_changes_by_patient ON plan_changes (patient_id, at);

CREATE TABLE invites (
    code_hash    TEXT PRIMARY KEY,
    clinic_id    BIGINT  NOT NULL REFERENCES clinics (id),
    role         TEXT    NOT NULL CHECK (role IN ('patient', 'therapist', 'clinic_admin')),
    created_by   BIGINT  NOT NULL REFERENCES users (id),
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    used_at      BIGINT,
    therapist_id BIGINT REFERENCES users (id),
    timezone     TEXT
);

CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);

CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    patient_id BIGINT  NOT NULL REFERENCES patients (user_id),
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);

CREATE TABLE devices (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT  NOT NULL REFERENCES patients (user_id),
    kind       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    paired_at  BIGINT  NOT NULL
);
CREATE INDEX devices_by_patient ON devices (patient_id);

-- The primary key (device, minute) serves the per-device minute range scans.
CREATE TABLE step_samples (
    device_id  BIGINT  NOT NULL REFERENCES devices (id),
    minute     BIGINT  NOT NULL,
    steps      BIGINT  NOT NULL CHECK (steps >= 0),
    heart_rate BIGINT  CHECK (heart_rate >= 0),
    PRIMARY KEY (device_id, minute)
);

CREATE TABLE sleep_episodes (
    device_id BIGINT  NOT NULL REFERENCES devices (id),
    start_at  BIGINT  NOT NULL,
    end_at    BIGINT  NOT NULL,
    stage     TEXT    NOT NULL CHECK (stage IN ('light', 'deep', 'rem', 'awake', 'asleep')),
    PRIMARY KEY (device_id, start_at),
    CHECK (end_at >= start_at)
);

CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT  NOT NULL,
    actor_id   BIGINT  NOT NULL REFERENCES users (id),
    action     TEXT    NOT NULL,
    patient_id BIGINT REFERENCES patients (user_id),
    clinic_id  BIGINT  NOT NULL REFERENCES clinics (id)
);
CREATE INDEX audit_log_by_patient ON audit_log (patient_id, at);
