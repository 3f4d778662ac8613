-- Minutes whose steps the collector spread over a span (a watch's count change) rather
-- than saw minute by minute: uploaded as estimated, never verifying a walk.
ALTER TABLE minutes ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
