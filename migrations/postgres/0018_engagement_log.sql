-- The engagement log: one row each time the writer raises a pageview's engagement figures
-- (0015). An update changes a stored event instead of adding one, so the readers that follow the
-- events table by id (the query engine's open days, and its builder, which rebuilds closed days
-- that changed) would never see it: they follow this log by id as well, and read the pageview's
-- figures as they are then. Rows are pruned by the builder once it has read them and they are a
-- day old (src/store/engine/build.rs).
--
-- Ids may commit out of order, as the events' do: readers apply the same snapshot rule to both
-- watermarks (src/store/engine/open.rs). Reading a row twice is harmless: it only says "read the
-- figures of this pageview again".
CREATE TABLE engagement_log (
    id        BIGSERIAL   PRIMARY KEY,
    site_id   BIGINT      NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- The pageview (events.id, with created_at the key of its partition) and its time.
    event_id  BIGINT      NOT NULL,
    event_at  TIMESTAMPTZ NOT NULL,
    logged_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The builder's watermark on the log, beside the one on events.
ALTER TABLE segment_progress
    ADD COLUMN log_scanned_id BIGINT,
    ADD COLUMN log_pending_id BIGINT,
    ADD COLUMN log_pending_xmax BIGINT;
