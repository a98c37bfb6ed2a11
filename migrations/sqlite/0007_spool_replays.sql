-- Parts of shutdown spool files already replayed (src/ingest/spool.rs). A part is recorded in
-- the transaction that stores its events, so a restart during a replay never stores it twice.
CREATE TABLE spool_replays (
    spool  TEXT    NOT NULL,
    part   BIGINT  NOT NULL,
    events BIGINT  NOT NULL,
    PRIMARY KEY (spool, part)
);
