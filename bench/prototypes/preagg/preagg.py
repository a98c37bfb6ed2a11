#!/usr/bin/env python3
"""Candidate B: in-database pre-aggregation keyed by a filter dimension AND value.

    preagg.py build --db COPY.db                    # adds rollup_pairs + rollup_pair_visits
    preagg.py bench --db COPY.db --mode preagg      # page times, pair rollups + raw open day
    preagg.py bench --db COPY.db --mode raw         # the same page, every day from raw rows
    preagg.py dump  --db COPY.db --mode preagg|raw --out FILE.json   # every widget's answer

Works on a COPY of footfall's SQLite database (never the original). Semantics are footfall's
(src/stats/mod.rs, src/store/sql/queries): visitors = SUM over local days of COUNT(DISTINCT
visitor_id); a session-level breakdown with only session-level filters counts visits on their
local start day (visit grain); everything else counts matching events per local event day.

Tables added (days <= rollup_sites.built_through, the closed days; the open day is read raw):
- rollup_pairs (site_id, fdim, fvalue, dim, day, value, visitors, pageviews, events): for each
  filter dimension in FILTER_DIMS and each of its values, per day, the breakdown rows of every
  dashboard dimension (plus `prop_key` and `prop:KEY`) restricted to that filter value — exactly
  the rows footfall's raw path would group for `fdim is fvalue`.
- rollup_pair_visits (site_id, fdim, fvalue, day, match_day, visits, bounces, duration,
  pageviews): for event-level filter dimensions (page), visits by start day and the first local
  day they had a matching event, so "visits started in the range with a matching event in the
  range" is exact: start day in range AND match_day <= last day.
Session-level `is` filters take their aggregate and series from footfall's existing rollup_dims
(it holds visits, bounces and duration per session-level value); `page is X` takes its
visitors/pageviews/events per day from rollup_dims (dim 'page').
"""

import argparse
import concurrent.futures as cf
import json
import os
import sqlite3
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SESSION_COLS = {
    "source": "referrer_source",
    "referrer": "referrer",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
    "country": "country",
    "region": "region",
    "city": "city",
    "browser": "browser",
    "browser_version": "browser_version",
    "os": "os",
    "os_version": "os_version",
    "device": "device",
    "entry_page": "entry_path",
    "exit_page": "exit_path",
}
EVENT_COLS = {"page": "path", "event_name": "name"}
# The dashboard's breakdown tables (src/dashboard/page.rs GROUPS), then event names.
BREAKDOWNS = ["page", "entry_page", "exit_page", "source", "referrer", "utm_source",
              "utm_medium", "utm_campaign", "country", "region", "city", "browser",
              "browser_version", "os", "device"]
# Session-level dimensions the page shows (the pair rollups hold these as breakdown dims).
PAIR_SESSION_DIMS = [d for d in BREAKDOWNS if d in SESSION_COLS]
FILTER_DIMS = ["source", "country", "device", "browser", "entry_page", "page"]

VIEWS = [
    ("unfiltered", []),
    ("source is Google", [("source", "is", "Google")]),
    ("page is /pricing", [("page", "is", "/pricing")]),
    ("country is DE", [("country", "is", "DE")]),
    ("prop:plan is pro", [("prop:plan", "is", "pro")]),
    ("page contains /blog", [("page", "contains", "/blog")]),
    ("entry_page is /", [("entry_page", "is", "/")]),
    ("country is DE + device is mobile", [("country", "is", "DE"), ("device", "is", "mobile")]),
    ("source is Google + page is /pricing + browser is Chrome",
     [("source", "is", "Google"), ("page", "is", "/pricing"), ("browser", "is", "Chrome")]),
]


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


# ---------------------------------------------------------------- calendar (as calendar.rs)

def day_number(d):
    return (d - datetime(1970, 1, 1).date()).days


def day_start(tz, day):
    """First instant (unix s) of local day `day`."""
    date = datetime(1970, 1, 1).date() + timedelta(days=day)
    for q in range(96):
        local = datetime(date.year, date.month, date.day, tzinfo=tz) + timedelta(minutes=15 * q)
        # zoneinfo: a nonexistent local time round-trips differently; accept the first that does.
        t = local.timestamp()
        back = datetime.fromtimestamp(t, tz)
        if back.replace(tzinfo=None) == local.replace(tzinfo=None):
            return int(t)
    return int(datetime(date.year, date.month, date.day, tzinfo=timezone.utc).timestamp())


def offsets(tz, start, end):
    """[(from, offset)] in force over [start, end): sampled every 6 hours, then bisected."""
    def off(t):
        return int(datetime.fromtimestamp(t, tz).utcoffset().total_seconds())
    segs = [(start, off(start))]
    t = start
    while t < end:
        n = min(t + 6 * 3600, end)
        if n < end and off(n) != segs[-1][1] or n == end and off(end - 1) != segs[-1][1]:
            lo, hi = t, n if n < end else end - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if off(mid) != segs[-1][1]:
                    hi = mid
                else:
                    lo = mid + 1
            segs.append((lo, off(lo)))
        t = n
    return segs


def day_expr(ts, segs):
    if len(segs) == 1:
        return f"(({ts} + {segs[0][1]}) / 86400)"
    case = "CASE"
    for (_, o), (nxt, _) in zip(segs, segs[1:]):
        case += f" WHEN {ts} < {nxt} THEN {o}"
    case += f" ELSE {segs[-1][1]} END"
    return f"(({ts} + {case}) / 86400)"


# ---------------------------------------------------------------- connections

def connect(path, readonly=False):
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    c = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    # footfall's reader settings (src/store/sqlite/mod.rs)
    c.execute("PRAGMA cache_size = -8000")
    c.execute("PRAGMA mmap_size = 2147418112")
    c.execute("PRAGMA temp_store = memory")
    return c


def site_info(c, domain):
    site, tzname = c.execute("SELECT id, timezone FROM sites WHERE domain = ?", (domain,)).fetchone()
    built = c.execute("SELECT built_through FROM rollup_sites WHERE site_id = ?", (site,)).fetchone()
    return site, ZoneInfo(tzname), built[0] if built else None


# ---------------------------------------------------------------- build

def build(args):
    c = connect(args.db)
    site, tz, built = site_info(c, args.site)
    if built is None:
        sys.exit("no rollups built (rollup_sites): run footfall's rollup builder first")
    c.execute(f"PRAGMA cache_size = -{args.cache_mb * 1000}")
    c.execute("PRAGMA temp_store = FILE")
    lo_ts, = c.execute("SELECT MIN(created_at) FROM events WHERE site_id = ?", (site,)).fetchone()
    end = day_start(tz, built + 1)  # closed days end here
    segs = offsets(tz, lo_ts - 86400, end)
    eday, sday = day_expr("e.created_at", segs), day_expr("s.started_at", segs)
    size0 = os.path.getsize(args.db)
    steps = []

    def step(name, sql, params=()):
        t = time.time()
        c.execute(sql, params)
        steps.append((name, time.time() - t))
        print(f"  {name:<58} {steps[-1][1]:7.1f} s   (load {load()})", flush=True)

    print(f"building pair rollups for days <= {built} on {args.db}, load {load()}")
    t0 = time.time()
    c.execute("DROP TABLE IF EXISTS rollup_pairs")
    c.execute("DROP TABLE IF EXISTS rollup_pair_visits")
    c.execute("""CREATE TABLE rollup_pairs (
        site_id INTEGER NOT NULL, fdim TEXT NOT NULL, fvalue TEXT NOT NULL, dim TEXT NOT NULL,
        day INTEGER NOT NULL, value TEXT NOT NULL,
        visitors INTEGER NOT NULL, pageviews INTEGER NOT NULL, events INTEGER NOT NULL,
        PRIMARY KEY (site_id, fdim, fvalue, dim, day, value)) WITHOUT ROWID""")
    c.execute("""CREATE TABLE rollup_pair_visits (
        site_id INTEGER NOT NULL, fdim TEXT NOT NULL, fvalue TEXT NOT NULL, day INTEGER NOT NULL,
        match_day INTEGER NOT NULL, visits INTEGER NOT NULL, bounces INTEGER NOT NULL,
        duration INTEGER NOT NULL, pageviews INTEGER NOT NULL,
        PRIMARY KEY (site_id, fdim, fvalue, day, match_day)) WITHOUT ROWID""")
    c.execute("BEGIN")
    dims_sql = ", ".join(f"COALESCE(s.{col}, '') AS {d}" for d, col in SESSION_COLS.items()
                         if d in PAIR_SESSION_DIMS or d in FILTER_DIMS)
    step("temp sd: closed-day visits with local start day",
         f"CREATE TEMP TABLE sd AS SELECT s.id AS sid, s.visitor_id AS visitor_id, {sday} AS day, "
         f"s.pageviews AS pageviews, s.events AS events, s.ended_at - s.started_at AS duration, "
         f"{dims_sql} FROM sessions s WHERE s.site_id = ? AND s.started_at < ?", (site, end))
    step("index sd(sid)", "CREATE INDEX temp.sd_sid ON sd (sid)")
    sess_dims = [d for d in SESSION_COLS if d in PAIR_SESSION_DIMS or d in FILTER_DIMS]
    step("temp ed: closed-day events widened with their visit's dims",
         f"CREATE TEMP TABLE ed AS SELECT e.session_id AS sid, e.visitor_id AS visitor_id, "
         f"{eday} AS day, CASE WHEN e.name = 'pageview' THEN 1 ELSE 0 END AS pv, "
         f"e.name AS event_name, e.path AS page, e.props AS props, "
         + ", ".join(f"sd.{d} AS {d}" for d in sess_dims)
         + " FROM events e JOIN sd ON sd.sid = e.session_id WHERE e.site_id = ? AND e.created_at < ?",
         (site, end))
    step("temp pd: closed-day prop pairs (json_each)",
         "CREATE TEMP TABLE pd AS SELECT ed.*, pk.key AS pkey, pk.value AS pvalue "
         "FROM ed, json_each(ed.props) AS pk WHERE ed.props IS NOT NULL")
    ins = "INSERT INTO rollup_pairs (site_id, fdim, fvalue, dim, day, value, visitors, pageviews, events) "
    for f in FILTER_DIMS:
        session_filter = f in SESSION_COLS
        for d in PAIR_SESSION_DIMS + ["page", "event_name"]:
            if session_filter and d in SESSION_COLS:
                # Visit grain: visits with the filter value, whole, on their start day.
                step(f"pairs {f} x {d} (visits)",
                     ins + f"SELECT ?, '{f}', {f}, '{d}', day, {d}, COUNT(DISTINCT visitor_id), "
                     f"SUM(pageviews), SUM(events) FROM sd GROUP BY {f}, day, {d}", (site,))
            else:
                # Event grain: matching events per event day.
                step(f"pairs {f} x {d} (events)",
                     ins + f"SELECT ?, '{f}', {f}, '{d}', day, {d}, COUNT(DISTINCT visitor_id), "
                     f"SUM(pv), COUNT(*) FROM ed GROUP BY {f}, day, {d}", (site,))
        step(f"pairs {f} x prop_key",
             ins + f"SELECT ?, '{f}', {f}, 'prop_key', day, pkey, 0, 0, COUNT(*) FROM pd "
             f"GROUP BY {f}, day, pkey", (site,))
        step(f"pairs {f} x prop:KEY",
             ins + f"SELECT ?, '{f}', {f}, 'prop:' || pkey, day, pvalue, COUNT(DISTINCT visitor_id), "
             f"SUM(pv), COUNT(*) FROM pd GROUP BY {f}, pkey, day, pvalue", (site,))
        if not session_filter:
            col = f
            step(f"pair visits {f}",
                 "INSERT INTO rollup_pair_visits SELECT ?, ?, m.value, sd.day, m.match_day, COUNT(*), "
                 "SUM(CASE WHEN sd.pageviews <= 1 THEN 1 ELSE 0 END), SUM(sd.duration), SUM(sd.pageviews) "
                 f"FROM (SELECT sid, {col} AS value, MIN(day) AS match_day FROM ed GROUP BY sid, {col}) AS m "
                 "JOIN sd ON sd.sid = m.sid GROUP BY m.value, sd.day, m.match_day", (site, f))
    c.execute("COMMIT")
    c.execute("DROP TABLE temp.pd")
    c.execute("DROP TABLE temp.ed")
    c.execute("DROP TABLE temp.sd")
    total = time.time() - t0
    rows, = c.execute("SELECT COUNT(*) FROM rollup_pairs").fetchone()
    vrows, = c.execute("SELECT COUNT(*) FROM rollup_pair_visits").fetchone()
    sizes = dict(c.execute("SELECT name, SUM(pgsize) FROM dbstat WHERE name IN "
                           "('rollup_pairs', 'rollup_pair_visits', 'rollup_dims', 'rollup_dims_day', "
                           "'events', 'sessions') GROUP BY name").fetchall())
    events, = c.execute("SELECT COUNT(*) FROM events WHERE site_id = ?", (site,)).fetchone()
    added = sizes.get("rollup_pairs", 0) + sizes.get("rollup_pair_visits", 0)
    print(f"\nbuilt in {total:.1f} s: rollup_pairs {rows} rows, rollup_pair_visits {vrows} rows")
    print(f"bytes: rollup_pairs {sizes.get('rollup_pairs')}, rollup_pair_visits {sizes.get('rollup_pair_visits')}"
          f" = {added} added, {added / events:.1f} bytes/event ({events} events); "
          f"file {size0} -> {os.path.getsize(args.db)}")
    print(f"for scale: events {sizes.get('events')}, sessions {sizes.get('sessions')}, "
          f"rollup_dims {sizes.get('rollup_dims')} bytes")
    per = {}
    for r in c.execute("SELECT fdim, COUNT(*) FROM rollup_pairs GROUP BY fdim"):
        per[r[0]] = r[1]
    print("rows per filter dimension:", per)


# ---------------------------------------------------------------- the page's statements

def lit(v):
    return "'" + v.replace("'", "''") + "'"


def like_pattern(text):
    p = "%"
    for ch in text:
        if ch in "%_\\":
            p += "\\"
        p += ch.lower() if ch.isascii() else ch
    return p + "%"


def col_of(dim):
    if dim in EVENT_COLS:
        return ("event", EVENT_COLS[dim])
    if dim in SESSION_COLS:
        return ("session", SESSION_COLS[dim])
    if dim.startswith("prop:"):
        return ("prop", dim[5:])
    raise ValueError(dim)


def cond(f, alias):
    """footfall's push_condition (filters.rs), SQLite flavour."""
    dim, op, value = f
    kind, c = col_of(dim)
    if kind == "prop":
        expr = f"(SELECT pf.value FROM json_each({alias['e']}.props) AS pf WHERE pf.key = {lit(c)})"
    else:
        expr = f"{alias['s' if kind == 'session' else 'e']}.{c}"
    if op == "is":
        return f"COALESCE({expr}, '') = ''" if value == "" else f"{expr} = {lit(value)}" + (
            " AND e.name <> 'pageview'" if dim == "event_name" and value != "pageview" else "")
    return f"{expr} <> ''" if value == "" else f"{expr} LIKE {lit(like_pattern(value))} ESCAPE '\\'"


class Raw:
    """The raw part of a question: instants [start, end) and their local-day expression."""

    def __init__(self, tz, first, last):
        self.start, self.end = day_start(tz, first), day_start(tz, last + 1)
        self.segs = offsets(tz, self.start, self.end)


def split(filters):
    s = [f for f in filters if col_of(f[0])[0] == "session"]
    e = [f for f in filters if col_of(f[0])[0] != "session"]
    return s, e


def event_rows(site, raw, filters, value=None, join=False):
    """SELECT [value,] visitor_id, session_id, pv, day FROM events e … (rows.rs push_event_rows)."""
    s_f, e_f = split(filters)
    sel = "SELECT "
    frm = " FROM events e"
    where = f" WHERE e.site_id = {site} AND e.created_at >= {raw.start} AND e.created_at < {raw.end}"
    if value is not None and value != "prop_key":
        kind, c = col_of(value)
        if kind == "session":
            sel += f"COALESCE(s.{c}, '') AS value, "
            join = True
        elif kind == "event":
            sel += f"COALESCE(e.{c}, '') AS value, "
        else:
            sel += "pk.value AS value, "
    if value == "prop_key":
        sel += "pk.key AS value, "
    if join:
        frm += " JOIN sessions s ON s.id = e.session_id"
    if value is not None and (value == "prop_key" or value.startswith("prop:")):
        frm += ", json_each(e.props) AS pk"
        if value != "prop_key":
            where += f" AND pk.key = {lit(value[5:])}"
    sel += ("e.visitor_id AS visitor_id, e.session_id AS session_id, "
            f"CASE WHEN e.name = 'pageview' THEN 1 ELSE 0 END AS pv, {day_expr('e.created_at', raw.segs)} AS day")
    a = {"e": "e", "s": "s"}
    for f in e_f:
        where += " AND " + cond(f, a)
    if join:
        for f in s_f:
            where += " AND " + cond(f, a)
    elif s_f:
        where += (f" AND e.session_id IN (SELECT s.id FROM sessions s WHERE s.site_id = {site} "
                  f"AND s.ended_at >= {raw.start} AND s.started_at < {raw.end}"
                  + "".join(" AND " + cond(f, a) for f in s_f) + ")")
    return sel + frm + where


def visit_rows(site, raw, filters, value=None):
    """SELECT [value,] sid, visitor_id, pageviews, events, bounce, duration, day FROM sessions s …"""
    s_f, e_f = split(filters)
    sel = "SELECT "
    if value is not None:
        sel += f"COALESCE(s.{col_of(value)[1]}, '') AS value, "
    sql = (sel + "s.id AS sid, s.visitor_id AS visitor_id, s.pageviews AS pageviews, s.events AS events, "
           "CASE WHEN s.pageviews <= 1 THEN 1 ELSE 0 END AS bounce, s.ended_at - s.started_at AS duration, "
           f"{day_expr('s.started_at', raw.segs)} AS day FROM sessions s WHERE s.site_id = {site} "
           f"AND s.started_at >= {raw.start} AND s.started_at < {raw.end}")
    a = {"e": "e", "s": "s"}
    for f in s_f:
        sql += " AND " + cond(f, a)
    if e_f:
        sql += (f" AND s.id IN (SELECT e.session_id FROM events e WHERE e.site_id = {site} "
                f"AND e.created_at >= {raw.start} AND e.created_at < {raw.end}"
                + "".join(" AND " + cond(f, a) for f in e_f) + ")")
    return sql


def visit_grain(filters, breakdown=None):
    s_f, e_f = split(filters)
    about_visits = (col_of(breakdown)[0] == "session") if breakdown else bool(s_f)
    return about_visits and not e_f


class Page:
    """Builds the statements of one dashboard page for a view, for mode 'raw' (every day from
    raw rows, footfall's raw path) or 'preagg' (closed days from rollups, the open day raw)."""

    def __init__(self, site, tz, built, first, last, filters, mode):
        self.site, self.tz, self.filters, self.mode = site, tz, filters, mode
        self.first, self.last = first, last
        self.key = None  # the (fdim, fvalue) the pair rollups answer, if any
        if mode == "preagg" and built is not None:
            if not filters:
                self.key = ("", "")
            elif len(filters) == 1 and filters[0][1] == "is" and filters[0][0] in FILTER_DIMS:
                self.key = (filters[0][0], filters[0][2])
        self.rolled = (first, min(built, last)) if self.key is not None and first <= built else None
        raw_first = self.rolled[1] + 1 if self.rolled else first
        self.raw = Raw(tz, raw_first, last) if raw_first <= last else None
        # footfall's raw path restricts events to matching visits with `session_id IN (SELECT id
        # FROM sessions WHERE ended_at >= start AND started_at < end …)`, which reads every visit
        # since the site began (no index bounds ended_at). The open day of the preagg path joins
        # each of its events to its visit by primary key instead (same rows, exact).
        self.join = self.rolled is not None and bool(split(filters)[0])

    # Rollup parts -------------------------------------------------------------------------
    def _days(self):
        return f"day >= {self.rolled[0]} AND day <= {self.rolled[1]}"

    def _dims_rows(self, dim, cols, value=None):
        v = f" AND value = {lit(value)}" if value is not None else ""
        return (f"SELECT {cols} FROM rollup_dims WHERE site_id = {self.site} AND dim = {lit(dim)} "
                f"AND level = 0 AND {self._days()}{v}")

    def _pair_rows(self, dim, cols):
        f, v = self.key
        return (f"SELECT {cols} FROM rollup_pairs WHERE site_id = {self.site} AND fdim = {lit(f)} "
                f"AND fvalue = {lit(v)} AND dim = {lit(dim)} AND {self._days()}")

    # Statements ---------------------------------------------------------------------------
    def aggregate(self):
        """visitors, visits, pageviews, events, bounces, duration (summed parts)."""
        parts = []
        vg = visit_grain(self.filters)
        if self.rolled:
            f, v = self.key
            if f == "":
                parts.append("SELECT visitors, visits, pageviews, events, bounces, duration FROM rollup_totals "
                             f"WHERE site_id = {self.site} AND {self._days()}")
            elif vg:
                parts.append(self._dims_rows(f, "visitors, visits, pageviews, events, bounces, duration", v))
            else:
                parts.append(self._dims_rows(f, "visitors, 0, pageviews, events, 0, 0", v))
                parts.append("SELECT 0, visits, 0, 0, bounces, duration FROM rollup_pair_visits "
                             f"WHERE site_id = {self.site} AND fdim = {lit(f)} AND fvalue = {lit(v)} "
                             f"AND {self._days()} AND match_day <= {self.last}")
        if self.raw:
            if vg:
                parts.append("SELECT COUNT(DISTINCT visitor_id), COUNT(*), SUM(pageviews), SUM(events), "
                             f"SUM(bounce), SUM(duration) FROM ({visit_rows(self.site, self.raw, self.filters)}) "
                             "GROUP BY day")
            else:
                parts.append("SELECT COUNT(DISTINCT visitor_id), 0, SUM(pv), COUNT(*), 0, 0 FROM "
                             f"({event_rows(self.site, self.raw, self.filters, join=self.join)}) GROUP BY day")
                if self.rolled and self.key != ("", ""):
                    parts.append(self._crossing_visits())
                else:
                    parts.append("SELECT 0, COUNT(*), 0, 0, SUM(bounce), SUM(duration) FROM "
                                 f"({visit_rows(self.site, self.raw, self.filters)})")
        if not parts:
            return None
        u = " UNION ALL ".join(parts)
        return ("SELECT COALESCE(SUM(a), 0), COALESCE(SUM(b), 0), COALESCE(SUM(c), 0), COALESCE(SUM(d), 0), "
                f"COALESCE(SUM(e), 0), COALESCE(SUM(f), 0) FROM (SELECT 0 a, 0 b, 0 c, 0 d, 0 e, 0 f WHERE 0 "
                f"UNION ALL {u})")

    def _crossing_visits(self):
        """Raw visit figures of an event-level filter when earlier days come from
        rollup_pair_visits: visits started in the range with a matching event on the open day and
        none on the closed days of the range (those are counted in the rollup)."""
        s_f, e_f = split(self.filters)
        a = {"e": "e", "s": "s"}
        start = day_start(self.tz, self.first)
        r = self.raw
        e_c = "".join(" AND " + cond(f, a) for f in e_f)
        s_c = "".join(" AND " + cond(f, a) for f in s_f)
        return (f"SELECT 0, COUNT(*), 0, 0, SUM(CASE WHEN pageviews <= 1 THEN 1 ELSE 0 END), SUM(duration) FROM ("
                f"WITH m AS (SELECT DISTINCT e.session_id AS sid FROM events e WHERE e.site_id = {self.site} "
                f"AND e.created_at >= {r.start} AND e.created_at < {r.end}{e_c}), "
                f"v AS (SELECT s.id AS id, s.started_at AS started_at, s.pageviews AS pageviews, "
                f"s.ended_at - s.started_at AS duration FROM m JOIN sessions s ON s.id = m.sid "
                f"WHERE s.started_at >= {start} AND s.started_at < {r.end}{s_c}), "
                # Earlier matching events of those visits are no older than the oldest of them.
                f"old AS (SELECT e.session_id AS sid FROM events e WHERE e.site_id = {self.site} "
                f"AND e.created_at >= MAX({start}, (SELECT COALESCE(MIN(started_at), {r.start}) FROM v)) "
                f"AND e.created_at < {r.start}{e_c}) "
                "SELECT pageviews, duration FROM v WHERE id NOT IN (SELECT sid FROM old))")

    def series(self):
        parts = []
        vg = visit_grain(self.filters)
        if self.rolled:
            f, v = self.key
            if f == "":
                parts.append("SELECT day, visitors, pageviews, events FROM rollup_totals "
                             f"WHERE site_id = {self.site} AND {self._days()}")
            else:
                parts.append(self._dims_rows(f, "day, visitors, pageviews, events", v))
        if self.raw:
            if vg:
                parts.append("SELECT day, COUNT(DISTINCT visitor_id), SUM(pageviews), SUM(events) FROM "
                             f"({visit_rows(self.site, self.raw, self.filters)}) GROUP BY day")
            else:
                parts.append("SELECT day, COUNT(DISTINCT visitor_id), SUM(pv), COUNT(*) FROM "
                             f"({event_rows(self.site, self.raw, self.filters, join=self.join)}) GROUP BY day")
        return ("SELECT day, SUM(v), SUM(p), SUM(n) FROM (SELECT 0 day, 0 v, 0 p, 0 n WHERE 0 UNION ALL "
                + " UNION ALL ".join(parts) + ") GROUP BY day ORDER BY day")

    def breakdown(self, dim, limit=10):
        parts = []
        is_session = dim in SESSION_COLS
        if self.rolled:
            f, v = self.key
            if f == "":
                if dim.startswith("prop:"):
                    parts.append(self._dims_rows(dim, "value, visitors, pageviews, events"))
                else:
                    parts.append(self._dims_rows(dim, "value, visitors, pageviews, events"))
            else:
                parts.append(self._pair_rows(dim, "value, visitors, pageviews, events"))
        if self.raw:
            if is_session and visit_grain(self.filters, dim):
                parts.append("SELECT value, COUNT(DISTINCT visitor_id), SUM(pageviews), SUM(events) FROM "
                             f"({visit_rows(self.site, self.raw, self.filters, dim)}) GROUP BY day, value")
            else:
                parts.append("SELECT value, COUNT(DISTINCT visitor_id), SUM(pv), COUNT(*) FROM "
                             f"({event_rows(self.site, self.raw, self.filters, dim, join=self.join)}) "
                             "GROUP BY day, value")
        return ("SELECT value, SUM(v) AS vis, SUM(p) AS pvs, SUM(n) AS evs FROM (SELECT '' value, 0 v, 0 p, 0 n "
                "WHERE 0 UNION ALL " + " UNION ALL ".join(parts) +
                f") GROUP BY value ORDER BY vis DESC, pvs DESC, evs DESC, value LIMIT {limit}")

    def prop_keys(self, limit=3):
        parts = []
        if self.rolled:
            f, v = self.key
            if f == "":
                parts.append(self._dims_rows("prop_key", "value, events"))
            else:
                parts.append(self._pair_rows("prop_key", "value, events"))
        if self.raw:
            parts.append("SELECT value, COUNT(*) FROM "
                         f"({event_rows(self.site, self.raw, self.filters, 'prop_key', join=self.join)}) "
                         "GROUP BY value")
        return ("SELECT value, SUM(n) AS n FROM (SELECT '' value, 0 n WHERE 0 UNION ALL "
                + " UNION ALL ".join(parts) + f") GROUP BY value ORDER BY n DESC, value LIMIT {limit}")


class Runner:
    def __init__(self, db, threads):
        self.local = threading.local()
        self.db = db
        self.pool = cf.ThreadPoolExecutor(max_workers=threads)

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = connect(self.db, readonly=True)
        return c

    def q(self, sql):
        t = time.time()
        rows = self.conn().execute(sql).fetchall()
        return rows, time.time() - t

    def page(self, site, tz, built, today, filters, mode, sequential=False):
        """Every statement of one page (concurrently on the pool), then the prop breakdowns."""
        cur = Page(site, tz, built, today - 29, today, filters, mode)
        prev = Page(site, tz, built, today - 59, today - 30, filters, mode)
        stmts = [("aggregate", cur.aggregate()), ("aggregate (previous)", prev.aggregate()),
                 ("timeseries", cur.series())]
        stmts += [(f"breakdown {d}", cur.breakdown(d)) for d in BREAKDOWNS]
        stmts += [("breakdown event_name", cur.breakdown("event_name", 11)), ("prop_keys", cur.prop_keys())]
        out = {}

        def run(batch):
            if sequential:
                for name, sql in batch:
                    out[name] = self.q(sql)
            else:
                futs = {name: self.pool.submit(self.q, sql) for name, sql in batch}
                for name, f in futs.items():
                    out[name] = f.result()
        run(stmts)
        keys = [r[0] for r in out["prop_keys"][0]]
        run([(f"breakdown prop:{k}", cur.breakdown(f"prop:{k}")) for k in keys])
        return out, cur


def setup(args):
    c = connect(args.db, readonly=True)
    site, tz, built = site_info(c, args.site)
    if args.no_rollups:
        built = None
    today = args.today if args.today is not None else day_number(datetime.now(tz).date())
    have_pairs = c.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollup_pairs'").fetchone()[0]
    if args.mode == "preagg" and not have_pairs:
        sys.exit("no rollup_pairs table: run `preagg.py build` first")
    return site, tz, built, today


def bench(args):
    site, tz, built, today = setup(args)
    r = Runner(args.db, args.threads)
    print(f"mode {args.mode}, days {today - 29}..={today}, closed through {built}, {args.threads} threads, "
          f"sqlite {sqlite3.sqlite_version}, load before {load()}\n")
    print("| view | answered from | page median ms | min | max | runs | load (1/5/15 min) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, filters in VIEWS:
        if args.view and args.view != name:
            continue
        page = Page(site, tz, built, today - 29, today, filters, args.mode)
        if args.answerable and page.key is None:
            continue
        for _ in range(args.warmup):
            r.page(site, tz, built, today, filters, args.mode)
        how = ("raw rows" if page.key is None else
               "rollup_totals/rollup_dims + raw open day" if page.key == ("", "") else
               "rollup_pairs + rollup_dims + raw open day")
        times = []
        for _ in range(args.runs):
            t = time.time()
            r.page(site, tz, built, today, filters, args.mode)
            times.append((time.time() - t) * 1000)
        print(f"| {name} | {how} | {statistics.median(times):.0f} | {min(times):.0f} | {max(times):.0f} | "
              f"{args.runs} | {load()} |", flush=True)
        if args.detail:
            out, _ = r.page(site, tz, built, today, filters, args.mode, sequential=True)
            for q, (_, t) in out.items():
                print(f"    {q:<32} {t * 1000:8.1f} ms", file=sys.stderr)


def dump(args):
    site, tz, built, today = setup(args)
    r = Runner(args.db, args.threads)
    res = {}
    for name, filters in VIEWS:
        if args.view and args.view != name:
            continue
        if args.mode == "preagg" and Page(site, tz, built, today - 29, today, filters, args.mode).key is None:
            continue  # not answerable from the pair rollups
        t = time.time()
        out, page = r.page(site, tz, built, today, filters, args.mode)
        res[name] = {q: [list(row) for row in rows] for q, (rows, _) in out.items()}
        print(f"{name}: {len(out)} statements, page {time.time() - t:.1f} s (one cold-ish load, "
              f"{args.threads} threads), load {load()}", file=sys.stderr, flush=True)
        json.dump(res, open(args.out, "w"), indent=0, sort_keys=True)  # after every view


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["build", "bench", "dump"])
    p.add_argument("--db", required=True)
    p.add_argument("--site", default="example.com")
    p.add_argument("--mode", choices=["preagg", "raw"], default="preagg")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--view")
    p.add_argument("--warmup", type=int, default=1, help="untimed page loads before the timed ones")
    p.add_argument("--answerable", action="store_true", help="bench: only views the pair rollups answer")
    p.add_argument("--today", type=int, help="last local day of the range (default: today)")
    p.add_argument("--no-rollups", action="store_true", help="ignore rollups (raw mode reads raw anyway)")
    p.add_argument("--detail", action="store_true", help="also print per-statement times (sequential run)")
    p.add_argument("--cache-mb", type=int, default=1000, help="build: SQLite page cache")
    p.add_argument("--out")
    args = p.parse_args()
    if os.path.samefile(args.db, "/work/data/ff10m.db") and args.cmd == "build":
        sys.exit("refusing to build into the original database: use a copy")
    {"build": build, "bench": bench, "dump": dump}[args.cmd](args)


if __name__ == "__main__":
    main()
