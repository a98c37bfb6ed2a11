-- footfall schema, SQLite flavour. Times are UTC unix seconds (INTEGER): compact, fast to range-scan,
-- and readable with datetime(created_at, 'unixepoch').

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    domain      TEXT    NOT NULL UNIQUE,
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    created_at  INTEGER NOT NULL
);

-- One row per UTC day. The visitor hash is keyed with the day's salt; deleting old rows makes
-- yesterday's visitor ids impossible to recompute or link to today's.
CREATE TABLE salts (
    day   TEXT PRIMARY KEY,   -- YYYY-MM-DD (UTC)
    salt  BLOB NOT NULL
);

-- Raw events: the source of truth. Dimensions are denormalised on purpose: the dashboard filters
-- and groups on any combination of them, and joins would cost more than the bytes they save.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL,
    visitor_id       INTEGER NOT NULL,
    session_id       INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    hostname         TEXT    NOT NULL,
    path             TEXT    NOT NULL,
    referrer         TEXT,
    referrer_source  TEXT,
    utm_source       TEXT,
    utm_medium       TEXT,
    utm_campaign     TEXT,
    utm_content      TEXT,
    utm_term         TEXT,
    browser          TEXT    NOT NULL,
    browser_version  TEXT    NOT NULL,
    os               TEXT    NOT NULL,
    os_version       TEXT    NOT NULL,
    device           TEXT    NOT NULL,
    country          TEXT,
    region           TEXT,
    city             TEXT,
    viewport_width   INTEGER,
    props            TEXT    -- JSON object of strings, NULL when the event had none
);

-- Every dashboard query is "this site, this time range".
CREATE INDEX events_site_time ON events (site_id, created_at);

-- Visits. The writer upserts one row per session per batch: counters grow, ended_at and the exit
-- page move forward. Entry dimensions are those of the session's first event.
CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id       INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER NOT NULL,
    entry_path       TEXT    NOT NULL,
    exit_path        TEXT    NOT NULL,
    pageviews        INTEGER NOT NULL,
    events           INTEGER NOT NULL,
    hostname         TEXT    NOT NULL,
    referrer         TEXT,
    referrer_source  TEXT,
    utm_source       TEXT,
    utm_medium       TEXT,
    utm_campaign     TEXT,
    utm_content      TEXT,
    utm_term         TEXT,
    browser          TEXT    NOT NULL,
    browser_version  TEXT    NOT NULL,
    os               TEXT    NOT NULL,
    os_version       TEXT    NOT NULL,
    device           TEXT    NOT NULL,
    country          TEXT,
    region           TEXT,
    city             TEXT
);

-- Dashboard range scans, and a restarting writer looking for the visits still open (started in
-- the last day, ended under 30 minutes ago). No index on ended_at: every upsert moves it, and it
-- would only serve that start-up query.
CREATE INDEX sessions_site_time ON sessions (site_id, started_at);
