-- Work that must run once however many footfall processes share the database (src/store/once.rs):
-- a row per job. `ran_at` is when it last finished, by whichever process, so that a job due every
-- hour runs once an hour in all; `runs` counts its runs. On SQLite a process holds a job by a lease
-- (`holder`, renewed while it runs, until `held_until`): a holder that crashed is taken over once
-- its lease has run out. (Postgres holds jobs with advisory locks and leaves these two empty.)
CREATE TABLE jobs (
    name        TEXT    PRIMARY KEY,
    ran_at      INTEGER,
    runs        INTEGER NOT NULL DEFAULT 0,
    holder      INTEGER,
    held_until  INTEGER
);
-- Retention (src/store/sql/retention.rs): a site's own number of days to keep raw events and
-- visits (NULL: the server's --retention-days), and the time before which they have been deleted
-- with the site's local day it starts (days since 1970-01-01, as the segments' days). The query
-- engine's segments of earlier days stay and are never rebuilt (there is nothing left to rebuild
-- them from).
CREATE TABLE site_retention (
    site_id    INTEGER PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    days       INTEGER,
    kept_from  INTEGER,
    kept_day   INTEGER
);
