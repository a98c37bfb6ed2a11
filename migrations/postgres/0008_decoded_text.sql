-- From this version on, paths, referrers and prop values are stored decoded, as an address bar
-- shows them (src/domain/decode.rs): `/über`, not `/%C3%BCber`. SQL cannot decode UTF-8 the
-- way footfall does, so the rows stored before are decoded by footfall itself when it starts
-- (src/store/sql/upgrade.rs), in batches, after which it deletes the row named here. Upgrades
-- of this kind are idempotent: collectors starting together may both run one.
CREATE TABLE pending_upgrades (
    name  TEXT PRIMARY KEY
);
INSERT INTO pending_upgrades (name) VALUES ('decode_text');
