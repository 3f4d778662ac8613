-- Pre-visit reports: the next visit date, outcome measures, and band data per local day.

-- The patient's next visit, a local date 'YYYY-MM-DD' (NULL: none planned).
ALTER TABLE patients ADD COLUMN next_visit TEXT;

-- Outcome measures entered by the therapist.
CREATE TABLE outcome_measures (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (user_id),
    kind        TEXT    NOT NULL
                CHECK (kind IN ('oswestry', 'ndi', 'six_minute_walk', 'timed_up_and_go')),
    value       REAL    NOT NULL,
    measured_on TEXT    NOT NULL,
    entered_by  INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX outcome_measures_by_patient ON outcome_measures (patient_id, measured_on);

-- Band data per patient and local day, recomputed from the minute samples and sleep episodes
-- of the days an upload touches, in the upload's transaction.
CREATE TABLE band_days (
    patient_id        INTEGER NOT NULL REFERENCES patients (user_id),
    day               TEXT    NOT NULL,
    steps             INTEGER NOT NULL,
    minutes_with_data INTEGER NOT NULL,
    sleep_min         INTEGER NOT NULL,
    PRIMARY KEY (patient_id, day)
) WITHOUT ROWID;
