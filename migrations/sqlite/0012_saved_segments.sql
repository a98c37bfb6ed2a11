-- Saved segments: a named list of dashboard filters for a site, applied with ?segment=ID on the
-- dashboard and its exports. `filters` is a JSON array of filters as the URL writes them
-- (`DIM:OP:VALUE`, `prop:KEY:OP:VALUE`).
CREATE TABLE saved_segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id     INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    filters     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (site_id, name)
);
