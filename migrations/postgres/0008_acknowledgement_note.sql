-- A therapist acknowledges an escalation with a note: what they did or decided (phoned the
-- patient, advised rest, saw no cause for concern). Kept with the review and shown in the
-- decision history and the pre-visit report. Escalations acknowledged before this migration
-- have none.
ALTER TABLE reviews ADD COLUMN acknowledgement_note TEXT;
