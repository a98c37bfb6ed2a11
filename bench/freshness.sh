#!/usr/bin/env bash
# Freshness benchmark (issue 9): how long from a 202 for an event to the event's showing in a
# filtered view (stats API, `page is /fresh-N` and `source is Google` over the last 7 days), on
# a seeded site, on SQLite and on Postgres. Polls every 50 ms; reports each delay and the median.
#
#   bench/freshness.sh                                  # 1M events over 30 days, both backends
#   SQLITE_DB=/path/to.db BACKENDS=sqlite bench/freshness.sh   # reuse a seeded database (site $SITE)
#
# Environment: EVENTS, DAYS (default 1000000 over 30), TRIES (default 7), BACKENDS, SITE
# (default example.com), SQLITE_DB, POSTGRES_DB, POSTGRES_URL, as in bench/dashboard.sh.
set -euo pipefail

EVENTS=${EVENTS:-1000000}
DAYS=${DAYS:-30}
TRIES=${TRIES:-7}
BACKENDS=${BACKENDS:-"sqlite postgres"}
SITE=${SITE:-example.com}

cd "$(dirname "$0")/.."
. bench/lib.sh

build_and_scratch freshbench

ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

RESULTS=()
for backend in $BACKENDS; do
    reuse=
    case $backend in
        sqlite) reuse=${SQLITE_DB:-}; [ -n "$reuse" ] && url="sqlite://$reuse" ;;
        postgres) reuse=${POSTGRES_DB:-}; [ -n "$reuse" ] && url="${POSTGRES_URL%/*}/$reuse" ;;
    esac
    if [ -z "$reuse" ]; then
        fresh_database "$backend" footfall_freshbench
        seed_site "    seed took %e s"
    fi
    serve_and_log_in
    key=$("$FOOTFALL" --database-url "$url" apikey create --name freshness 2>/dev/null | tail -n1)
    delays=()
    for i in $(seq 1 "$TRIES"); do
        path="/fresh-$$-$i"
        api="http://127.0.0.1:$port/api/v1/stats/aggregate?site=$SITE&period=7d&filters=page%3Ais%3A${path//\//%2F}&filters=source%3Ais%3AGoogle"
        # the first question loads the open day; then the clock starts at the 202
        curl -fs -o /dev/null -H "Authorization: Bearer $key" "$api"
        t0=$(ms)
        status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
            -A 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' \
            --data "{\"n\":\"pageview\",\"u\":\"https://$SITE$path\",\"d\":\"$SITE\",\"r\":\"https://www.google.com/\"}" \
            "http://127.0.0.1:$port/api/event")
        [ "$status" = 202 ] || { say "    event: HTTP $status"; exit 1; }
        seen=
        for _ in $(seq 1 400); do
            if curl -fs -H "Authorization: Bearer $key" "$api" | grep -q '"pageviews":1[,}]'; then seen=1; break; fi
            sleep 0.05
        done
        [ -n "$seen" ] || { say "    $path never showed in 20 s"; exit 1; }
        delays+=($(( $(ms) - t0 )))
        sleep 1.3
    done
    median=$(printf '%s\n' "${delays[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    say "    $backend: 202 -> shown in a filtered view: ${delays[*]} ms (median $median ms)"
    RESULTS+=("| $backend | ${delays[*]} | $median |")
    stop_server
done

say ""
say "delay from 202 to the event's showing in a filtered stats API view (poll every 50 ms):"
say "| backend | each try, ms | median ms |"
say "|---|---|---:|"
printf '%s\n' "${RESULTS[@]}"
