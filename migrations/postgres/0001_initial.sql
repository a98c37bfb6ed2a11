-- footfall schema, PostgreSQL flavour. Times are timestamptz (stored as UTC).

CREATE TABLE sites (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain      TEXT        NOT NULL UNIQUE,
    timezone    TEXT        NOT NULL DEFAULT 'UTC',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per UTC day. The visitor hash is keyed with the day's salt; deleting old rows makes
-- yesterday's visitor ids impossible to recompute or link to today's. Several collectors agree
-- on a day's salt through the primary key (INSERT … ON CONFLICT DO NOTHING, then read).
CREATE TABLE salts (
    day   DATE  PRIMARY KEY,
    salt  BYTEA NOT NULL
);

-- Raw events: the source of truth. Dimensions are denormalised on purpose: the dashboard filters
-- and groups on any combination of them, and joins would cost more than the bytes they save.
CREATE TABLE events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id          BIGINT      NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    created_at       TIMESTAMPTZ NOT NULL,
    visitor_id       BIGINT      NOT NULL,
    session_id       BIGINT      NOT NULL,
    name             TEXT        NOT NULL,
    hostname         TEXT        NOT NULL,
    path             TEXT        NOT NULL,
    referrer         TEXT,
    referrer_source  TEXT,
    utm_source       TEXT,
    utm_medium       TEXT,
    utm_campaign     TEXT,
    utm_content      TEXT,
    utm_term         TEXT,
    browser          TEXT        NOT NULL,
    browser_version  TEXT        NOT NULL,
    os               TEXT        NOT NULL,
    os_version       TEXT        NOT NULL,
    device           TEXT        NOT NULL,
    country          TEXT,
    region           TEXT,
    city             TEXT,
    viewport_width   INTEGER,
    props            JSONB       -- object of strings, NULL when the event had none
);

-- Every dashboard query is "this site, this time range".
CREATE INDEX events_site_time ON events (site_id, created_at);

-- Visits. The writer upserts one row per session per batch: counters grow, ended_at and the exit
-- page move forward. Entry dimensions are those of the session's first event.
CREATE TABLE sessions (
    id               BIGINT      PRIMARY KEY,
    site_id          BIGINT      NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id       BIGINT      NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ NOT NULL,
    entry_path       TEXT        NOT NULL,
    exit_path        TEXT        NOT NULL,
    pageviews        INTEGER     NOT NULL,
    events           INTEGER     NOT NULL,
    hostname         TEXT        NOT NULL,
    referrer         TEXT,
    referrer_source  TEXT,
    utm_source       TEXT,
    utm_medium       TEXT,
    utm_campaign     TEXT,
    utm_content      TEXT,
    utm_term         TEXT,
    browser          TEXT        NOT NULL,
    browser_version  TEXT        NOT NULL,
    os               TEXT        NOT NULL,
    os_version       TEXT        NOT NULL,
    device           TEXT        NOT NULL,
    country          TEXT,
    region           TEXT,
    city             TEXT
);

-- Dashboard range scans, and a restarting writer looking for the visits still open (started in
-- the last day, ended under 30 minutes ago). No index on ended_at: every upsert moves it, and it
-- would only serve that start-up query.
CREATE INDEX sessions_site_time ON sessions (site_id, started_at);
