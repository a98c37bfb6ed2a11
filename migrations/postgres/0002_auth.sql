-- Accounts, login sessions and share links, PostgreSQL flavour.

-- Dashboard users. The application lower-cases emails before they get here, so the plain UNIQUE
-- constraint is a case-insensitive one (no citext extension needed). password_hash is an argon2id
-- PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): it carries its own parameters, so raising
-- them later needs no migration.
CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          TEXT        NOT NULL UNIQUE,
    password_hash  TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Logged-in browsers. Only the BLAKE3 hash of the cookie's token is stored, so a leaked backup or
-- a read-only SQL user cannot impersonate anyone; the token itself has 256 random bits, so a fast
-- unsalted hash is enough (there is nothing to brute-force).
CREATE TABLE login_sessions (
    token_hash  BYTEA       PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- Expired sessions are deleted in bulk by expiry time.
CREATE INDEX login_sessions_expires ON login_sessions (expires_at);
-- A password change logs out the user's other sessions.
CREATE INDEX login_sessions_user ON login_sessions (user_id);

-- Public read-only links to one site's dashboard. As with sessions only the token's hash is kept:
-- the full link is shown once, when it is made. hint (the token's first characters) lets the
-- owner tell links apart in a list without making them guessable. Revoking deletes the row; so
-- does deleting the site.
CREATE TABLE share_links (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     BIGINT      NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    token_hash  BYTEA       NOT NULL UNIQUE,
    hint        TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Listing a site's links (and the cascade on site delete) looks rows up by site.
CREATE INDEX share_links_site ON share_links (site_id);
