-- A minute whose steps the collector spread over it (a count change over a longer span)
-- rather than one the band saw: 1; walk verification leaves it out.
ALTER TABLE step_samples ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
