-- The query engine's segments replace the rollups. A segment is one local day of one site in
-- columnar form (its events and the visits that have events that day, dictionary-encoded, sorted
-- by visitor; see src/store/engine/segment.rs and docs/query-engine.md): every question on that
-- day, filtered or not, is answered from it in memory. Like the rollups before them, segments
-- are a cache of the events and sessions tables, which stay the source of truth: dropping these
-- rows makes the builder start over.
DROP TABLE rollup_dims;
DROP TABLE rollup_totals;
-- The rollup builder's bookkeeping has the columns the segment builder needs: it is renamed and
-- emptied, so that the builder starts from the first event.
--   segment_sites: per site, the time zone its segments were built in, and the last local day
--   they are complete for (days without events have no row); later days are read from the
--   events table as they arrive.
--   segment_progress: the builder's watermark; events with ids up to scanned_id have been
--   looked at for late arrivals into days already built.
--   Transactions of several collectors can commit ids out of order, so a newer watermark
--   (pending_id) is only trusted once every transaction that was running when it was taken
--   (xid below pending_xmax) has ended.
ALTER TABLE rollup_sites RENAME TO segment_sites;
ALTER TABLE rollup_progress RENAME TO segment_progress;
DELETE FROM segment_sites;
DELETE FROM segment_progress;

-- One row per site and closed local day with events (days as days since 1970-01-01 in the site's
-- time zone). A rebuilt day is deleted and inserted again, so its row gets a new id: collectors
-- pick up new and rebuilt segments by asking for ids above the last they loaded (one builder runs
-- at a time, under an advisory lock, so ids commit in order).
CREATE TABLE segments (
    id       BIGSERIAL PRIMARY KEY,
    site_id  BIGINT  NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    day      INTEGER NOT NULL,
    -- The encoding's version (src/store/engine/codec.rs); rows of another one are rebuilt.
    version  INTEGER NOT NULL,
    events   BIGINT  NOT NULL,
    data     BYTEA   NOT NULL,
    UNIQUE (site_id, day)
);
-- The blobs are compact codes already: keep them out of line but uncompressed, so that loading one
-- does not spend CPU on pglz for little gain.
ALTER TABLE segments ALTER COLUMN data SET STORAGE EXTERNAL;
