-- The care team's work with a patient (docs/care-team.md): one message thread per patient,
-- clinician notes, and the time log that remote-monitoring evidence counts (docs/rtm.md).

-- A message in a patient's thread, written by the patient or a member of their care team.
-- A retried post with the same client id is the same message.
CREATE TABLE messages (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients (user_id),
    author_id  BIGINT NOT NULL REFERENCES users (id),
    body       TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (author_id, client_id)
);
CREATE INDEX messages_by_patient ON messages (patient_id, id);

-- How far each reader has read a thread: messages after last_read_id are unread.
CREATE TABLE message_reads (
    patient_id   BIGINT NOT NULL REFERENCES patients (user_id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    last_read_id BIGINT NOT NULL,
    read_at      BIGINT NOT NULL,
    PRIMARY KEY (patient_id, user_id)
);

-- A clinician's note on a patient; the patient never sees notes.
CREATE TABLE notes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients (user_id),
    author_id  BIGINT NOT NULL REFERENCES users (id),
    body       TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (author_id, client_id)
);
CREATE INDEX notes_by_patient ON notes (patient_id, id);

-- Minutes a clinician spent on a patient's care, on a local date of the patient, and whether
-- they included a live conversation with the patient (and how). A timer started on the
-- patient's page is a row without minutes until it is stopped; a clinician has at most one
-- running timer per patient.
CREATE TABLE time_entries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id   BIGINT NOT NULL REFERENCES patients (user_id),
    clinician_id BIGINT NOT NULL REFERENCES users (id),
    performed_on TEXT    NOT NULL,
    minutes      BIGINT CHECK (minutes BETWEEN 1 AND 600),
    activity     TEXT    NOT NULL,
    live         TEXT    CHECK (live IN ('call', 'video', 'in_person')),
    started_at   BIGINT,
    client_id    TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (clinician_id, client_id)
);
CREATE INDEX time_entries_by_patient ON time_entries (patient_id, performed_on);
CREATE UNIQUE INDEX time_entries_one_timer ON time_entries (clinician_id, patient_id)
    WHERE minutes IS NULL;
