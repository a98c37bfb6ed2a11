#!/usr/bin/env bash
# The sites list (`/sites`: every site with today's visitors and a 7-day sparkline) with many
# sites: SITES sites of EVENTS_PER_SITE seeded events each over 7 days, whole page over HTTP,
# median of RUNS loads after one warm-up, on each backend. Target (issue 12): 200 sites < 300 ms.
#
#   bench/sites.sh                                  # 200 sites × 5,000 events, both backends
#   SITES=50 BACKENDS=sqlite bench/sites.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=${SITES:-200}
EVENTS_PER_SITE=${EVENTS_PER_SITE:-5000}
RUNS=${RUNS:-5}
BACKENDS=${BACKENDS:-sqlite postgres}
EVENTS=$EVENTS_PER_SITE
DAYS=7
source bench/lib.sh
build_and_scratch sites

for backend in $BACKENDS; do
    fresh_database "$backend" footfall_sitesbench
    say "==> $backend: $SITES sites, $EVENTS_PER_SITE events each over $DAYS days"
    started=$(date +%s)
    for i in $(seq 1 "$SITES"); do
        "$FOOTFALL" --database-url "$url" site add "site$i.example" --timezone Europe/Berlin >/dev/null
        "$FOOTFALL" --database-url "$url" seed --site "site$i.example" --events "$EVENTS_PER_SITE" \
            --days "$DAYS" --random-seed "$i" >/dev/null 2>&1
    done
    say "    seeded in $(($(date +%s) - started)) s"
    serve_and_log_in
    page="http://127.0.0.1:$port/sites"
    read -r status first <<<"$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' -b "$jar" "$page")"
    cards=$(grep -o 'class="site-card' "$TMP/body" | wc -l || true)
    median=$(for _ in $(seq 1 "$RUNS"); do curl -s -o /dev/null -w '%{time_total}\n' -b "$jar" "$page"; done |
        sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '    /sites: status %s, %s site cards, first load %.0f ms, median %.0f ms\n' \
        "$status" "$cards" "$(echo "$first * 1000" | bc -l)" "$(echo "$median * 1000" | bc -l)"
    stop_server
    [ -n "$PGDB" ] && psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null && PGDB=
done
