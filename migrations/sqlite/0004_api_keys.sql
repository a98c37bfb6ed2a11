-- API keys for the stats API (/api/v1/stats/*), SQLite flavour. Times are UTC unix seconds.

-- As with share links, only the BLAKE3 hash of the token is kept: the token (`ff_` + 256 random
-- bits) is shown once, when the key is made, so a leaked backup opens nothing. hint (the token's
-- first characters) tells keys apart in a list. all_sites = 1 opens every site, including sites
-- added later; otherwise the key opens exactly the sites in api_key_sites. Revoking deletes the row.
-- last_used_at is refreshed at most about once a minute per key, so reads rarely write.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL UNIQUE,
    hint          TEXT    NOT NULL,
    all_sites     INTEGER NOT NULL CHECK (all_sites IN (0, 1)),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);

-- The sites a scoped key opens. Both sides cascade: revoking a key or deleting a site removes
-- the grant (a key whose every site was deleted opens nothing; it does not widen to all sites).
CREATE TABLE api_key_sites (
    key_id   INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    site_id  INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, site_id)
);

-- The cascade on site delete looks grants up by site.
CREATE INDEX api_key_sites_site ON api_key_sites (site_id);
