-- Imports of phone exports (docs/imports.md).
--
-- A device an import found (a band in a Gadgetbridge database, an Apple Watch, a Fitbit) is a
-- device of the patient like a paired band, marked imported: it has no upload token anyone
-- holds (its token hash is of a random token never shown, expired when created). When the
-- export names a band already paired (the same Bluetooth address), its data goes to that
-- band's device instead, so the two ways in never count a minute or a night twice.
ALTER TABLE devices ADD COLUMN imported BIGINT NOT NULL DEFAULT 0;

-- An export uploaded on the patient's page, read in the background: its state and progress,
-- then its summary (JSON) or the one-line reason it failed.
CREATE TABLE imports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  BIGINT NOT NULL REFERENCES patients (user_id),
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    file_name   TEXT    NOT NULL,
    size_bytes  BIGINT NOT NULL CHECK (size_bytes >= 0),
    state       TEXT    NOT NULL CHECK (state IN ('reading', 'storing', 'done', 'failed')),
    progress    BIGINT NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    format      TEXT,
    summary     TEXT,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_by_patient ON imports (patient_id, created_at);
