#!/usr/bin/env bash
# Dashboard benchmark (issue 9): the full dashboard page (every widget) of a site with EVENTS
# events over DAYS days, for the views analysts use, on SQLite and on Postgres; plus the stats API
# and a CSV breakdown export of a filtered view, which answer from the same query engine.
#
#   bench/dashboard.sh                                   # 10M events over 30 days, both backends
#   EVENTS=10000000 DAYS=365 VIEWS=year bench/dashboard.sh   # the last-12-months views
#   SQLITE_DB=/path/to.db BACKENDS=sqlite bench/dashboard.sh # reuse a seeded database (site $SITE)
#
# Environment:
#   EVENTS, DAYS   seeded events and days (default 10000000 over 30)
#   RUNS           timed loads per view, after one warm-up (default 5); the median is reported,
#                  and the first (cold) load separately
#   VIEWS          month (default: 30-day views and today) or year (last 12 months)
#   BACKENDS       "sqlite postgres" (default) or one of them
#   SITE           the seeded site (default example.com)
#   SITE_TZ        the site's time zone; default: the Etc/GMT zone in which it is latest in the
#                  day now, so that "today" holds (nearly) a full day of seeded events
#   SQLITE_DB, POSTGRES_DB   an existing seeded database to use instead of seeding one
#   KEEP           set: keep the scratch directory and database (their names are printed)
#   POSTGRES_URL   server for scratch databases (default postgres://postgres@127.0.0.1:5432/postgres)
#
# After the views it adds ten goals (pages, patterns and custom events, `footfall goal add`) to the
# running server's database and times the page with its Goals table, a goal filter, the funnel
# page of four of them (also under a filter) and the stats API's funnel (issue 14).
#
# For each backend it reports: the seed's wall time (writing and building the engine's segments)
# and peak RSS; bytes on disk per event (whole database, and the segments alone); each view's
# first load and median (curl time_total, whole page over HTTP); the server's peak RSS (VmHWM)
# after all views. It reports, it does not assert.
set -euo pipefail

EVENTS=${EVENTS:-10000000}
DAYS=${DAYS:-30}
RUNS=${RUNS:-5}
VIEWS=${VIEWS:-month}
BACKENDS=${BACKENDS:-"sqlite postgres"}

cd "$(dirname "$0")/.."
# Etc/GMT-N is N hours east of UTC: the one whose local hour now is the latest. Picked again for
# each backend's seed, so that its "today" is the day the seed filled.
latest_zone() {
    python3 -c '
import datetime
h = datetime.datetime.now(datetime.timezone.utc).hour
best = max(range(-12, 15), key=lambda n: (h + n) % 24)
print("Etc/GMT%+d" % -best if best else "UTC")'
}
AUTO_TZ=
[ -z "${SITE_TZ:-}" ] && AUTO_TZ=1 && SITE_TZ=$(latest_zone)
export SITE_TZ
SITE=${SITE:-example.com}
. bench/lib.sh

build_and_scratch dashbench

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
f() { printf '&f=%s' "$(enc "$1")"; }
case $VIEWS in
    month) P=30d
        LIST=(
            "unfiltered|period=30d"
            "today (hourly)|period=today"
            "source is Google|period=30d$(f source:is:Google)"
            "page is /pricing|period=30d$(f page:is:/pricing)"
            "country is DE|period=30d$(f country:is:DE)"
            "prop:plan is pro|period=30d$(f prop:plan:is:pro)"
            "page contains /blog|period=30d$(f page:contains:/blog)"
            "entry_page is /|period=30d$(f entry_page:is:/)"
            "country is DE + device is mobile|period=30d$(f country:is:DE)$(f device:is:mobile)"
            "source is Google + page is /pricing + browser is Chrome|period=30d$(f source:is:Google)$(f page:is:/pricing)$(f browser:is:Chrome)"
        ) ;;
    year) P=12mo
        LIST=(
            "12 months unfiltered|period=12mo"
            "12 months source is Google|period=12mo$(f source:is:Google)"
            "12 months page is /pricing|period=12mo$(f page:is:/pricing)"
            "12 months country is DE + device is mobile|period=12mo$(f country:is:DE)$(f device:is:mobile)"
        ) ;;
    *) say "VIEWS must be month or year"; exit 2 ;;
esac

# Loads $1 once (the first load), once more as a warm-up, then RUNS times; sets `first` and
# `median` (ms). A non-200 stops the benchmark with the status and the start of the body.
measure() {
    local url=$1 status secs
    read -r status secs <<<"$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' "${AUTH[@]}" "$url")"
    if [ "$status" != 200 ]; then
        say "    $url: HTTP $status"; head -c 400 "$TMP/body"; say ""; tail -n 5 "$TMP/serve.log"; exit 1
    fi
    first=$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')
    curl -s -o /dev/null "${AUTH[@]}" "$url"
    median=$(for _ in $(seq 1 "$RUNS"); do curl -s -o /dev/null -w '%{time_total}\n' "${AUTH[@]}" "$url"; done |
        sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "%.0f", a[int((NR + 1) / 2)] }')
}

RESULTS=()
for backend in $BACKENDS; do
    reuse=
    case $backend in
        sqlite) reuse=${SQLITE_DB:-} ;;
        postgres) reuse=${POSTGRES_DB:-} ;;
    esac
    if [ -n "$reuse" ]; then
        case $backend in
            sqlite) url="sqlite://$reuse" ;;
            postgres) url="${POSTGRES_URL%/*}/$reuse" ;;
        esac
        say "==> $backend: using $url"
    else
        fresh_database "$backend" footfall_dashbench
        [ -n "$AUTO_TZ" ] && SITE_TZ=$(latest_zone) && say "    site time zone $SITE_TZ"
        seed_site "    seed (writing + segments) took %e s, peak RSS %M KB"
    fi
    events=$(echo "SELECT COUNT(*) FROM events" | case $backend in
        sqlite) sqlite3 "${url#sqlite://}" ;;
        postgres) psql -qAt "$url" ;;
    esac)
    case $backend in
        sqlite)
            db=${url#sqlite://}
            bytes=$(du -cb "$db"* | tail -n1 | cut -f1)
            seg=$(sqlite3 "$db" "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM segments") ;;
        postgres)
            bytes=$(psql -qAt "$url" -c "SELECT pg_database_size(current_database())")
            seg=$(psql -qAt "$url" -c "SELECT pg_total_relation_size('segments')") ;;
    esac
    say "    $events events; disk $(awk -v b="$bytes" -v e="$events" 'BEGIN { printf "%.0f", b / e }') bytes/event, of which segments $(awk -v b="$seg" -v e="$events" 'BEGIN { printf "%.1f", b / e }')"
    serve_and_log_in
    # Let the server load its segments and read the open day before timing.
    curl -s -o /dev/null -b "$jar" "http://127.0.0.1:$port/sites"
    for v in "${LIST[@]}"; do
        name=${v%%|*}
        AUTH=(-b "$jar"); measure "http://127.0.0.1:$port/sites/$SITE?${v#*|}"
        say "    $name: median $median ms (first load $first ms)"
        RESULTS+=("| $backend | $name | $median | $first |")
    done
    # Goals and funnels (issue 14): the same page with ten goals, then goal filters and funnels.
    goal() { "$FOOTFALL" --database-url "$url" goal add --site "$SITE" "$@" >/dev/null 2>&1 || true; }  # a reused database has them
    goal --name Home --path /
    goal --name Pricing --path /pricing
    goal --name Features --path /features
    goal --name "Signup page" --path /signup
    goal --name Blog --path '/blog/**'
    goal --name Docs --path '/docs/**'
    goal --name Signup --event Signup
    goal --name "Pro signup" --event Signup --prop plan=pro
    goal --name Download --event "File Download"
    goal --name Outbound --event "Outbound Link: Click"
    steps="&step=Home&step=Pricing&step=Signup%20page&step=Signup"
    for v in "10 goals, unfiltered|period=$P" \
             "10 goals, source is Google|period=$P$(f source:is:Google)" \
             "10 goals, goal is Pricing|period=$P$(f goal:is:Pricing)" \
             "funnel page, 4 steps|FUNNEL period=$P$steps" \
             "funnel page, 4 steps, country is DE|FUNNEL period=$P$(f country:is:DE)$steps"; do
        name=${v%%|*}; q=${v#*|}; page=""
        case $q in FUNNEL\ *) page=/funnel; q=${q#FUNNEL } ;; esac
        AUTH=(-b "$jar"); measure "http://127.0.0.1:$port/sites/$SITE$page?$q"
        say "    $name: median $median ms (first load $first ms)"
        RESULTS+=("| $backend | $name | $median | $first |")
    done
    # The stats API and a CSV breakdown export of a filtered view: the same engine, one question.
    api="http://127.0.0.1:$port/api/v1/stats/breakdown?site=$SITE&period=$P&property=country&filters=$(enc source:is:Google)&limit=100"
    key=$("$FOOTFALL" --database-url "$url" apikey create --name bench 2>/dev/null | tail -n1)
    AUTH=(-H "Authorization: Bearer $key"); measure "$api"
    say "    API breakdown by country, source is Google: median $median ms (first load $first ms)"
    RESULTS+=("| $backend | API breakdown (country, source is Google) | $median | $first |")
    AUTH=(-H "Authorization: Bearer $key"); measure "http://127.0.0.1:$port/api/v1/stats/funnel?site=$SITE&period=$P${steps//step=/steps=}"
    say "    API funnel, 4 steps: median $median ms (first load $first ms)"
    RESULTS+=("| $backend | API funnel (4 steps) | $median | $first |")
    AUTH=(-b "$jar"); measure "http://127.0.0.1:$port/sites/$SITE/export/page.csv?period=$P$(f source:is:Google)"
    say "    CSV export of pages, source is Google: median $median ms (first $first ms)"
    RESULTS+=("| $backend | CSV export page.csv (source is Google) | $median | $first |")
    rss=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER/status")
    say "    server peak RSS after all views: $((rss / 1024)) MB"
    RESULTS+=("| $backend | server peak RSS | $((rss / 1024)) MB | |")
    stop_server
    if [ "$backend" = postgres ] && [ -z "$reuse" ] && [ -n "$PGDB" ] && [ -z "${KEEP:-}" ]; then
        psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null; PGDB=
    fi
done

say ""
say "$EVENTS events over $DAYS days, site time zone $SITE_TZ (the last backend's), median of $RUNS loads after one warm-up:"
say "| backend | view | median ms | first load ms |"
say "|---|---|---:|---:|"
printf '%s\n' "${RESULTS[@]}"
