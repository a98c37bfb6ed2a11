-- Goals (src/stats/goal.rs), evaluated at query time over stored events: a pageview goal has a
-- path pattern (`*` within a path segment, `**` across), a custom event goal an event name and
-- optionally one prop equal to a value.
CREATE TABLE goals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     BIGINT  NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    path        TEXT,
    event       TEXT,
    prop_key    TEXT,
    prop_value  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (site_id, name),
    CHECK ((path IS NULL) <> (event IS NULL))
);
