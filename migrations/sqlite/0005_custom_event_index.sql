-- The batch writer pays for every index on events on every insert. events_site_name served one
-- kind of question, a filter on an event name (a goal), yet pageviews — most events by far —
-- went into it too, and it cost the writer about 30% of its instructions per event (callgrind,
-- examples/writer_bench.rs). This partial index holds only the custom events, which are what a
-- goal filter asks for; a filter on `pageview` itself matches most of the range anyway and reads
-- it through events_site_time. Queries must say `name <> 'pageview'` for the planner to pick it
-- (src/store/sql/filters.rs does, next to the bound name).
DROP INDEX events_site_name;
CREATE INDEX events_site_custom ON events (site_id, name, created_at) WHERE name <> 'pageview';
