-- Engagement of pageviews (issue 14; src/domain/engagement.rs): how long the page was in view,
-- in milliseconds, and the deepest scroll position reached, in percent of the document (0-100).
-- The tracker sends the totals so far when the page is hidden or left and on SPA navigation
-- (`"n":"engagement"`); the writer raises the figures of the latest pageview of that path in
-- the visit, never lowers them. NULL on every pageview no update reached, and on every other
-- event. No CHECKs: the parser checks, kept alike with Postgres (see its 0014).
ALTER TABLE events ADD COLUMN engaged_ms INTEGER;
ALTER TABLE events ADD COLUMN scroll_depth INTEGER;

-- How an update finds its pageview: the visit's pageviews, by session id. Without it every
-- update would walk the site's events of the visit's time span (events_site_time) — thousands
-- of rows on a busy site, for each pageview. Partial: only pageviews are ever looked up, so
-- custom events cost nothing more to insert. The writer's lookup names `name = 'pageview'` as a
-- literal, which is what lets SQLite use a partial index.
CREATE INDEX events_session_pageviews ON events (session_id) WHERE name = 'pageview';
