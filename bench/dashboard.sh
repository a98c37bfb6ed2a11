#!/usr/bin/env bash
# Dashboard benchmark: how long the full dashboard page of a site with EVENTS events over DAYS
# days takes to render for the last 30 days, on SQLite and on Postgres.
#
#   bench/dashboard.sh                       # 1,000,000 events, both backends
#   EVENTS=10000000 BACKENDS=sqlite bench/dashboard.sh
#
# Environment:
#   EVENTS        events seeded (default 1000000)      DAYS      spread over (default 30)
#   RUNS          timed page loads per view (default 20, after 3 warm-up loads)
#   BACKENDS      "sqlite postgres" (default) or one of them
#   POSTGRES_URL  server to create a scratch database on (default postgres://postgres@127.0.0.1:5432/postgres)
#
# For each backend: a fresh database, `footfall seed`, `footfall serve`, a login with curl, then
# RUNS loads of each view (30 days unfiltered; 30 days filtered by source and page; today) with
# curl's time_total, reported as median and p95 in ms. The target is a median under 300 ms for
# the unfiltered 30-day page. It reports, it does not assert.
set -euo pipefail

EVENTS=${EVENTS:-1000000}
DAYS=${DAYS:-30}
RUNS=${RUNS:-20}
BACKENDS=${BACKENDS:-"sqlite postgres"}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SITE=bench.example
EMAIL=bench@example.com
PASSWORD=bench-password-123

cd "$(dirname "$0")/.."
say() { printf '%s\n' "$*"; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

say "==> building (release)"
cargo build --release --quiet --bin footfall
FOOTFALL=$PWD/target/release/footfall
TMP=$(mktemp -d /tmp/footfall-dashbench.XXXXXX)
SERVER=
PGDB=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ -n "$PGDB" ] && psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Median and p95 (ms) of the numbers (seconds) on stdin.
stats() { sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "median %.1f ms, p95 %.1f ms (n=%d)", a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.5)], NR }'; }

RESULTS=()
for backend in $BACKENDS; do
    case $backend in
        sqlite) url="sqlite://$TMP/bench.db" ;;
        postgres)
            PGDB=footfall_dashbench_$$
            psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CREATE DATABASE $PGDB" >/dev/null
            url="${POSTGRES_URL%/*}/$PGDB" ;;
        *) say "unknown backend $backend"; exit 2 ;;
    esac
    say "==> $backend: seeding $EVENTS events over $DAYS days"
    "$FOOTFALL" --database-url "$url" site add "$SITE" --timezone Europe/Berlin >/dev/null
    /usr/bin/time -f "    seed took %e s, peak RSS %M KB" "$FOOTFALL" --database-url "$url" seed --site "$SITE" --events "$EVENTS" --days "$DAYS" 2>&1 | sed 's/^/    /'
    printf '%s\n' "$PASSWORD" | "$FOOTFALL" --database-url "$url" user add "$EMAIL" --password-stdin >/dev/null
    port=$(free_port)
    RUST_LOG=warn "$FOOTFALL" --database-url "$url" serve --listen "127.0.0.1:$port" >"$TMP/serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    jar="$TMP/cookies"
    rm -f "$jar"
    token=$(curl -fs -c "$jar" -b "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
    curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
        --data-urlencode "csrf_token=$token" --data-urlencode "next=/sites" "http://127.0.0.1:$port/login"
    for view in "period=30d" "period=30d&f=source%3Ais%3AGoogle" "period=30d&f=page%3Ais%3A%2Fpricing" "period=today"; do
        page="http://127.0.0.1:$port/sites/$SITE?$view"
        status=$(curl -s -o "$TMP/page.html" -w '%{http_code}' -b "$jar" "$page")
        if [ "$status" != 200 ]; then say "    $view: HTTP $status"; head -c 500 "$TMP/page.html"; exit 1; fi
        for _ in 1 2 3; do curl -s -o /dev/null -b "$jar" "$page"; done
        line=$(for _ in $(seq 1 "$RUNS"); do curl -s -o /dev/null -w '%{time_total}\n' -b "$jar" "$page"; done | stats)
        say "    $view: $line, $(wc -c <"$TMP/page.html") bytes"
        RESULTS+=("| $backend | $EVENTS | $view | $line |")
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done

say ""
say "| backend | events | view | full page |"
say "|---|---:|---|---|"
printf '%s\n' "${RESULTS[@]}"
