-- Questionnaires patients fill in on their phone (docs/outcomes.md): what the therapist
-- scheduled, the questionnaires asked of the patient, and the scored responses.

-- When a patient is asked to fill in an instrument: once at the start, every `number` weeks,
-- or `number` days before each visit. A schedule is active until stopped_at is set. A retried
-- post with the same client id is the same schedule.
CREATE TABLE questionnaire_schedules (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (user_id),
    instrument TEXT    NOT NULL CHECK (instrument IN ('psfs', 'koos_jr')),
    timing     TEXT    NOT NULL CHECK (timing IN ('start', 'every_weeks', 'before_visit')),
    number     INTEGER,
    starts_on  TEXT    NOT NULL,
    set_by     INTEGER NOT NULL REFERENCES users (id),
    client_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    stopped_at INTEGER,
    UNIQUE (set_by, client_id),
    CHECK ((timing = 'start') = (number IS NULL))
);
CREATE INDEX questionnaire_schedules_by_patient ON questionnaire_schedules (patient_id, id);

-- A questionnaire asked of a patient: due on a local date, for a reason, by one schedule
-- (which asks at most once per date).
CREATE TABLE questionnaire_requests (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (user_id),
    instrument  TEXT    NOT NULL CHECK (instrument IN ('psfs', 'koos_jr')),
    schedule_id INTEGER NOT NULL REFERENCES questionnaire_schedules (id),
    due_on      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('open', 'answered', 'expired')),
    created_at  INTEGER NOT NULL,
    UNIQUE (schedule_id, due_on)
);
CREATE INDEX questionnaire_requests_by_patient ON questionnaire_requests (patient_id, state);

-- A patient's answers to a questionnaire (JSON: link_id -> number or text) and its score as
-- stepwise-outcomes computed it. One response per questionnaire; a retried submit with the
-- same client id stores once.
CREATE TABLE questionnaire_responses (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (user_id),
    instrument  TEXT    NOT NULL CHECK (instrument IN ('psfs', 'koos_jr')),
    request_id  INTEGER NOT NULL UNIQUE REFERENCES questionnaire_requests (id),
    answers     TEXT    NOT NULL,
    score       REAL    NOT NULL,
    raw_score   REAL,
    subscores   TEXT    NOT NULL,
    category    TEXT,
    client_id   TEXT    NOT NULL,
    answered_at INTEGER NOT NULL,
    UNIQUE (patient_id, client_id)
);
CREATE INDEX questionnaire_responses_by_patient ON questionnaire_responses (patient_id, answered_at);
