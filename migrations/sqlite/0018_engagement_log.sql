-- The engagement log: one row each time the writer raises a pageview's engagement figures
-- (0015). An update changes a stored event instead of adding one, so the readers that follow the
-- events table by id (the query engine's open days, and its builder, which rebuilds closed days
-- that changed) would never see it: they follow this log by id as well, and read the pageview's
-- figures as they are then. Rows are pruned by the builder once it has read them and they are a
-- day old (src/store/engine/build.rs). AUTOINCREMENT: ids are never handed out twice.
CREATE TABLE engagement_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id   INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- The pageview (events.id) and its time, which is what finds its day.
    event_id  INTEGER NOT NULL,
    event_at  INTEGER NOT NULL,
    logged_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);

-- The builder's watermark on the log, beside the one on events.
ALTER TABLE segment_progress ADD COLUMN log_scanned_id INTEGER;
