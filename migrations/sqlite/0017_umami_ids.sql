-- Umami website ids (issue 15): an Umami snippet or sender names its site by this UUID
-- (`data-website-id`, `payload.website` of `/api/send`); this maps it to a footfall site.
-- One id per site and one site per id, so `/api/send` finds at most one site, and `footfall
-- site set DOMAIN --umami-id UUID` replaces a site's id. Lower-case (`domain::UmamiId`).
CREATE TABLE umami_ids (
    website_id  TEXT    PRIMARY KEY,
    site_id     INTEGER NOT NULL UNIQUE REFERENCES sites(id) ON DELETE CASCADE
);
