-- The next-morning check (engine contract version 2): pain on waking the morning after a walk,
-- and when it was answered.
ALTER TABLE sessions ADD COLUMN pain_next_morning INTEGER;
ALTER TABLE sessions ADD COLUMN next_morning_answered_at INTEGER;
