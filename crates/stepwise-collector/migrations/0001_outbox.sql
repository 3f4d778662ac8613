-- The collector's outbox: paired bands, their minutes and sleep episodes until the server has
-- confirmed them. Instants are Unix seconds (UTC).

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    server_url TEXT NOT NULL,
    -- The server's upload token for this band: a secret (the file is created 0600).
    token TEXT NOT NULL,
    -- Huami bands only: the 16-byte auth key, a secret too.
    huami_key BLOB,
    -- The time zone the band's clock is set to (IANA name).
    zone TEXT NOT NULL,
    -- The first minute the next fetch asks for (Huami), or the next session start (PAMS).
    sync_cursor INTEGER,
    -- InfiniTime only: the last step count read and when.
    infinitime_count INTEGER,
    infinitime_at INTEGER,
    paired_at INTEGER NOT NULL,
    last_sync_at INTEGER
);

CREATE TABLE minutes (
    device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    minute INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    heart_rate INTEGER,
    activity INTEGER NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, minute)
) WITHOUT ROWID;

CREATE INDEX minutes_waiting ON minutes (device_id, minute) WHERE uploaded = 0;

CREATE TABLE sleep_episodes (
    device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    stage TEXT NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, start)
) WITHOUT ROWID;
