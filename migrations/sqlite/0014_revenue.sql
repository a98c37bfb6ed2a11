-- Revenue of custom events (`$` in the collection contract, src/domain/revenue.rs), NULL on
-- every other event. The amount is a whole number of millionths of the currency's unit (12.5 EUR
-- is 12500000), so SUM is exact and the same on both backends; SQLite has no exact decimal type
-- (its NUMERIC is a floating-point affinity). Amounts are at most 10^12, 10^18 in millionths.
--
-- No CHECK constraints: the parser checks the values, and on Postgres a CHECK on the partitioned
-- table would have to be on every month the partition upkeep attaches; kept alike here.
-- No index either: revenue is read with the event's name, which `events_site_custom` covers.
ALTER TABLE events ADD COLUMN revenue_micros INTEGER;
ALTER TABLE events ADD COLUMN revenue_currency TEXT;
