-- Rollups: per-day aggregates the dashboard reads instead of scanning raw events. Visitor ids
-- rotate daily, so per-day distinct visitors add up exactly over any range of days: a closed day
-- is summed once here and only today is read raw. Days are local calendar days in the site's time
-- zone, stored as days since 1970-01-01 (date(day * 86400, 'unixepoch') shows one). Rollups are a
-- cache of the events table: dropping them (and rollup_sites) makes the builder start over.
-- See src/stats/rollup.rs.

-- Per site and day: visitors, pageviews and events of the day's events; visits, bounces, total
-- visit duration (seconds) and pageviews of the visits that started that day.
CREATE TABLE rollup_totals (
    site_id          INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    day              INTEGER NOT NULL,
    visitors         INTEGER NOT NULL,
    pageviews        INTEGER NOT NULL,
    events           INTEGER NOT NULL,
    visits           INTEGER NOT NULL,
    bounces          INTEGER NOT NULL,
    duration         INTEGER NOT NULL,
    visit_pageviews  INTEGER NOT NULL,
    PRIMARY KEY (site_id, day)
) WITHOUT ROWID;

-- Per site, dimension and value ('' = not set), over a block of 2^level days starting at `day`
-- (level 0: one day). Event-level dimensions (page, event_name, prop:KEY, prop_key) count events
-- on those days; session-level ones count the visits that started on them (visits, bounces and
-- duration only for these). WITHOUT ROWID clusters a dimension's rows of consecutive days, which
-- is exactly what a breakdown reads: one range per block level of the primary key.
CREATE TABLE rollup_dims (
    site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    dim        TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    visitors   INTEGER NOT NULL,
    pageviews  INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    visits     INTEGER NOT NULL,
    bounces    INTEGER NOT NULL,
    duration   INTEGER NOT NULL,
    PRIMARY KEY (site_id, dim, level, day, value)
) WITHOUT ROWID;
-- The builder replaces a day's (or block's) rows of every dimension at once.
CREATE INDEX rollup_dims_day ON rollup_dims (site_id, level, day);

-- Per site: the time zone its rollups were built in, and the last local day they are complete
-- for. Later days (today) are read from raw events.
CREATE TABLE rollup_sites (
    site_id        INTEGER PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    timezone       TEXT    NOT NULL,
    built_through  INTEGER NOT NULL
);

-- The builder's watermark: events with ids up to scanned_id have been looked at for late
-- arrivals into days already rolled up.
CREATE TABLE rollup_progress (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    scanned_id  INTEGER NOT NULL
);

-- Filtered questions scan raw events of the range. An event-name filter (a goal) seeks straight
-- to the matching events of the range instead of reading every event of it. There is no such
-- index on path: inserts into it land all over the B-tree, and it halved the writer's throughput
-- (seeding 1M events on SQLite: 165k events/s without it, 88k/s with it); page filters read the
-- range through events_site_time instead.
CREATE INDEX events_site_name ON events (site_id, name, created_at);
