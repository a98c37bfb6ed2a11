-- Several collectors, one set of visits (src/domain/visits.rs, src/store/postgres/batch.rs).
-- Each writer takes a row here when it starts; its id (modulo 1,024) is in every session id it
-- makes, so two collectors never make the same one.
CREATE TABLE writers (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL
);
-- Each visitor's latest visit, as all collectors see it. A batch transaction locks the rows of
-- its visitors (inserting the missing ones first, in key order), sessionizes its events against
-- them and moves them on, so a visitor's events spread over several collectors make the visits
-- one collector makes. Rows of visitors gone for a day are deleted with the day's salts.
CREATE TABLE open_visits (
    site_id     BIGINT      NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id  BIGINT      NOT NULL,
    -- 0 until a visit is written (a row inserted only to be locked).
    session_id  BIGINT      NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, visitor_id)
);
-- The time of the visit's exit pageview, so that a batch that commits late never moves the exit
-- page back.
ALTER TABLE sessions ADD COLUMN exit_at TIMESTAMPTZ;
-- The visits open when this migration runs carry on: each visitor's latest visit of the last day.
INSERT INTO open_visits (site_id, visitor_id, session_id, started_at, ended_at)
SELECT DISTINCT ON (site_id, visitor_id) site_id, visitor_id, id, started_at, ended_at
FROM sessions
WHERE ended_at > now() - INTERVAL '1 day'
ORDER BY site_id, visitor_id, ended_at DESC;
