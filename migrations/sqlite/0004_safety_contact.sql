-- The clinic's contact for safety advice: what a patient reads at once when they report
-- red-flag pain (NULL: the default text, which says to contact the clinic or emergency
-- services).
ALTER TABLE clinics ADD COLUMN safety_phone TEXT;
ALTER TABLE clinics ADD COLUMN safety_text TEXT;
