-- Several writers, one set of visits (src/domain/visits.rs). Each writer takes a row here when it
-- starts; its id (modulo 1,024) is in every session id it makes, so two writers never make the
-- same one. (Several collectors need Postgres; SQLite has one writer, but ids are made alike.)
CREATE TABLE writers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL
);
-- The time of the visit's exit pageview, so that a late batch never moves the exit page back.
ALTER TABLE sessions ADD COLUMN exit_at INTEGER;
