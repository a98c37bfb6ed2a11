-- Plain-SQL reference figures on footfall's SQLite database, straight from the metric
-- definitions (src/stats/mod.rs), for the 30 local days 2026-11-03..2026-12-02 (days 20760..20789)
-- in Europe/Berlin. Berlin is on +01:00 for the whole range (DST ended 2026-10-25), so the local
-- day of t is (t + 3600) / 86400.
--   sqlite3 -readonly /work/data/ff10m.db < bench/prototypes/checks/plain.sql
.headers on
.mode list
.timer on

SELECT '1. source is Google: aggregate (visit grain)' AS check_name;
SELECT SUM(v) AS visitors, SUM(n) AS visits, SUM(p) AS pageviews, SUM(ev) AS events,
       SUM(b) AS bounces, SUM(dur) AS duration
FROM (SELECT (started_at + 3600) / 86400 AS d, COUNT(DISTINCT visitor_id) AS v, COUNT(*) AS n,
             SUM(pageviews) AS p, SUM(events) AS ev, SUM(pageviews <= 1) AS b,
             SUM(ended_at - started_at) AS dur
      FROM sessions WHERE site_id = 1 AND referrer_source = 'Google'
        AND (started_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d);

SELECT '2. page is /pricing: country breakdown, top 3 (event grain)' AS check_name;
SELECT cval AS country, SUM(v) AS visitors, SUM(p) AS pageviews, SUM(n) AS events
FROM (SELECT (e.created_at + 3600) / 86400 AS d, COALESCE(s.country, '') AS cval,
             COUNT(DISTINCT e.visitor_id) AS v, SUM(e.name = 'pageview') AS p, COUNT(*) AS n
      FROM events e JOIN sessions s ON s.id = e.session_id
      WHERE e.site_id = 1 AND e.path = '/pricing'
        AND (e.created_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d, cval)
GROUP BY cval ORDER BY visitors DESC, pageviews DESC, events DESC, cval LIMIT 3;

SELECT '3. page is /pricing: aggregate' AS check_name;
SELECT SUM(v) AS visitors, SUM(p) AS pageviews, SUM(n) AS events
FROM (SELECT (created_at + 3600) / 86400 AS d, COUNT(DISTINCT visitor_id) AS v,
             SUM(name = 'pageview') AS p, COUNT(*) AS n
      FROM events WHERE site_id = 1 AND path = '/pricing'
        AND (created_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d);
SELECT COUNT(*) AS visits, SUM(pageviews <= 1) AS bounces, SUM(ended_at - started_at) AS duration
FROM sessions WHERE site_id = 1 AND (started_at + 3600) / 86400 BETWEEN 20760 AND 20789
  AND id IN (SELECT session_id FROM events WHERE site_id = 1 AND path = '/pricing'
             AND (created_at + 3600) / 86400 BETWEEN 20760 AND 20789);

SELECT '4. country is DE + device is mobile: aggregate visitors (visit grain)' AS check_name;
SELECT SUM(v) AS visitors, SUM(n) AS visits
FROM (SELECT (started_at + 3600) / 86400 AS d, COUNT(DISTINCT visitor_id) AS v, COUNT(*) AS n
      FROM sessions WHERE site_id = 1 AND country = 'DE' AND device = 'mobile'
        AND (started_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d);

SELECT '5. prop:plan is pro: source breakdown, top 3 (event grain)' AS check_name;
SELECT source, SUM(v) AS visitors, SUM(p) AS pageviews, SUM(n) AS events
FROM (SELECT (e.created_at + 3600) / 86400 AS d, COALESCE(s.referrer_source, '') AS source,
             COUNT(DISTINCT e.visitor_id) AS v, SUM(e.name = 'pageview') AS p, COUNT(*) AS n
      FROM events e JOIN sessions s ON s.id = e.session_id
      WHERE e.site_id = 1 AND e.props IS NOT NULL AND e.props ->> '$.plan' = 'pro'
        AND (e.created_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d, source)
GROUP BY source ORDER BY visitors DESC, pageviews DESC, events DESC, source LIMIT 3;

SELECT '6. page contains /blog: aggregate visitors (event grain, ASCII case-insensitive)' AS check_name;
SELECT SUM(v) AS visitors, SUM(p) AS pageviews, SUM(n) AS events
FROM (SELECT (created_at + 3600) / 86400 AS d, COUNT(DISTINCT visitor_id) AS v,
             SUM(name = 'pageview') AS p, COUNT(*) AS n
      FROM events WHERE site_id = 1 AND path LIKE '%/blog%'
        AND (created_at + 3600) / 86400 BETWEEN 20760 AND 20789 GROUP BY d);
