-- Engagement of pageviews (issue 14; src/domain/engagement.rs): how long the page was in view,
-- in milliseconds (BIGINT, alike with SQLite's INTEGER; at most 86,400,000), and the deepest
-- scroll position reached, in percent of the document (SMALLINT, 0-100). The tracker sends the
-- totals so far when the page is hidden or left and on SPA navigation (`"n":"engagement"`); the
-- writer raises the figures of the latest pageview of that path in the visit, never lowers
-- them. NULL on every pageview no update reached, and on every other event.
--
-- `events` is partitioned (0011): columns and indexes made on the parent reach every partition,
-- the legacy and default ones included, and a month attached later gets the index at ATTACH.
-- Nullable columns without a default rewrite no rows. No CHECKs, as in 0014.
ALTER TABLE events ADD COLUMN engaged_ms BIGINT, ADD COLUMN scroll_depth SMALLINT;

-- How an update finds its pageview: the visit's pageviews, by session id (the lookup also bounds
-- created_at by the visit's span, so only its months are searched). Without it every update
-- would walk the site's events of the visit's time span (events_site_time) — thousands of rows
-- on a busy site, for each pageview. Partial: custom events cost nothing more to insert.
--
-- An index on a partitioned table cannot be built CONCURRENTLY: this one holds off writes to
-- each partition while it is built there (the writer retries meanwhile; events wait in the
-- queue). Where that is too long, build it ahead of the upgrade: CREATE INDEX … ON ONLY events,
-- then CREATE INDEX CONCURRENTLY on each partition and ALTER INDEX … ATTACH PARTITION; this
-- migration then finds it made.
CREATE INDEX IF NOT EXISTS events_session_pageviews ON events (session_id) WHERE name = 'pageview';
