-- Work that must run once however many footfall processes share the database (src/store/once.rs):
-- a row per job. `ran_at` is when it last finished, by whichever process, so that a job due every
-- hour runs once an hour in all; `runs` counts its runs. A process holds a job with a
-- session-level advisory lock, which a crashed holder's connection releases as it goes. (SQLite
-- holds jobs by a lease in `holder` / `held_until`, which stay empty here.)
CREATE TABLE jobs (
    name        TEXT        PRIMARY KEY,
    ran_at      TIMESTAMPTZ,
    runs        BIGINT      NOT NULL DEFAULT 0,
    holder      BIGINT,
    held_until  TIMESTAMPTZ
);
-- Retention (src/store/sql/retention.rs): a site's own number of days to keep raw events and
-- visits (NULL: the server's --retention-days), and the time before which they have been deleted
-- with the site's local day it starts (days since 1970-01-01, as the segments' days). The query
-- engine's segments of earlier days stay and are never rebuilt (there is nothing left to rebuild
-- them from).
CREATE TABLE site_retention (
    site_id    BIGINT      PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    days       INTEGER,
    kept_from  TIMESTAMPTZ,
    kept_day   INTEGER
);
-- When a writer last used a visitor's open_visits row (wall-clock time). Rows are purged when
-- unused for a day, not by their visit's end: a batch of history (an import running beside
-- serve) uses rows of visits that ended long ago, and must find them from one batch to the next.
ALTER TABLE open_visits ADD COLUMN touched_at TIMESTAMPTZ NOT NULL DEFAULT now();
