-- Events partitioned by month of created_at (UTC), so that retention drops whole months and a
-- range question reads only the months it covers. The existing table is not copied: it becomes
-- the first partition, holding everything before the start of next month (a CHECK proves that
-- with one scan, no rewrite). Months from there on are partitions of their own, named
-- events_YYYY_MM, created ahead of time by the once-only upkeep job (src/store/postgres/
-- partitions.rs); this migration makes the next two. Anything outside them lands in
-- events_default, from which the upkeep moves it into its month.
--
-- No primary key: a partitioned table's unique keys must hold the partition key, and nothing
-- refers to an event by id. Each partition has its own index on id (the live view, the segment
-- builder's watermark and the exports read by id); the first keeps its old primary key for that.
-- Ids keep coming from one sequence, handed out one at a time (the live view counts on that).
ALTER TABLE events RENAME TO events_legacy;
ALTER TABLE events_legacy RENAME CONSTRAINT events_pkey TO events_legacy_pkey;
ALTER INDEX events_site_time RENAME TO events_legacy_site_time;
ALTER INDEX events_site_custom RENAME TO events_legacy_site_custom;

DO $$
DECLARE
    next_id BIGINT;
    month   TIMESTAMP := date_trunc('month', now() AT TIME ZONE 'UTC');
    bound   TIMESTAMPTZ := (month + INTERVAL '1 month') AT TIME ZONE 'UTC';
    lo      TIMESTAMP;
BEGIN
    SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END INTO next_id
    FROM events_id_seq;
    ALTER TABLE events_legacy ALTER COLUMN id DROP IDENTITY;
    EXECUTE format('CREATE SEQUENCE events_id_seq START %s CACHE 1', next_id);

    CREATE TABLE events (LIKE events_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
    ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq');
    ALTER SEQUENCE events_id_seq OWNED BY events.id;
    ALTER TABLE events ADD CONSTRAINT events_site_id_fkey
        FOREIGN KEY (site_id) REFERENCES sites(id) ON DELETE CASCADE;
    CREATE INDEX events_site_time ON events (site_id, created_at);
    CREATE INDEX events_site_custom ON events (site_id, name, created_at) WHERE name <> 'pageview';

    EXECUTE format('ALTER TABLE events_legacy ADD CONSTRAINT events_legacy_range CHECK (created_at < %L)', bound);
    EXECUTE format('ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', bound);
    CREATE TABLE events_default PARTITION OF events DEFAULT;
    CREATE INDEX events_default_id ON events_default (id);

    FOR i IN 1..2 LOOP
        lo := month + make_interval(months => i);
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            to_char(lo, '"events_"YYYY_MM'),
            lo AT TIME ZONE 'UTC',
            (lo + INTERVAL '1 month') AT TIME ZONE 'UTC');
        EXECUTE format('CREATE INDEX %I ON %I (id)',
            to_char(lo, '"events_"YYYY_MM"_id"'), to_char(lo, '"events_"YYYY_MM'));
    END LOOP;
END $$;
