#!/usr/bin/env bash
# CSV export benchmark: time to download every event of the last 30 days of a site with EVENTS
# seeded events, and what it does to the server's memory. The export streams one page of 5,000
# events at a time, so the server's memory must stay flat, not grow with the export's size.
#
#   bench/export.sh                              # 1,000,000 events, both backends, debug build
#   PROFILE=release BACKENDS=sqlite bench/export.sh
#
# Environment:
#   EVENTS        events seeded (default 1000000)      DAYS      spread over (default 30)
#   BACKENDS      "sqlite postgres" (default) or one of them
#   PROFILE       debug (default) or release: which build of footfall to run
#   POSTGRES_URL  server to create a scratch database on (default postgres://postgres@127.0.0.1:5432/postgres)
#
# For each backend: a fresh database, `footfall seed`, `footfall serve`, a login with curl, then
# GET /sites/SITE/export/events.csv?period=30d (and page.csv, the biggest breakdown) with curl,
# while the server's /proc/PID/status is sampled every 100 ms. Reported: wall time, rows, bytes,
# and the server's memory before and during: VmRSS (all resident memory), RssAnon (its heap and
# stacks: what the export itself would grow), RssFile (file pages it has mapped, i.e. SQLite's
# memory-mapped database file, which the kernel may drop at any time), and VmHWM (peak VmRSS).
# It reports, it does not assert.
set -euo pipefail

EVENTS=${EVENTS:-1000000}
DAYS=${DAYS:-30}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PROFILE=${PROFILE:-debug}

cd "$(dirname "$0")/.."
. bench/lib.sh

say "==> building ($PROFILE)"
case $PROFILE in
    debug) cargo build --quiet --bin footfall ;;
    release) cargo build --release --quiet --bin footfall ;;
    *) say "PROFILE must be debug or release"; exit 2 ;;
esac
FOOTFALL=$PWD/target/$PROFILE/footfall
TMP=$(mktemp -d /tmp/footfall-exportbench.XXXXXX)
trap cleanup EXIT

# "VmRSS RssAnon RssFile VmHWM" of a process, in MB.
memory() { awk '/^(VmRSS|RssAnon|RssFile|VmHWM):/ { v[$1] = $2 } END { printf "%.0f %.0f %.0f %.0f\n", v["VmRSS:"]/1024, v["RssAnon:"]/1024, v["RssFile:"]/1024, v["VmHWM:"]/1024 }' "/proc/$1/status"; }
describe() { read -r rss anon file hwm; printf 'VmRSS %s MB (RssAnon %s, RssFile %s), VmHWM %s MB' "$rss" "$anon" "$file" "$hwm"; }

# Downloads $1 while sampling the server's memory; prints a summary line.
export_once() {
    local url=$1 samples="$TMP/samples"
    : >"$samples"
    ( while kill -0 "$SERVER" 2>/dev/null; do memory "$SERVER" >>"$samples"; sleep 0.1; done ) &
    SAMPLER=$!
    local start end status
    start=$(date +%s.%N)
    status=$(curl -s -b "$jar" -o "$TMP/export.csv" -w '%{http_code}' "$url")
    end=$(date +%s.%N)
    kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
    if [ "$status" != 200 ]; then say "    HTTP $status"; head -c 500 "$TMP/export.csv"; exit 1; fi
    local rows bytes
    rows=$(($(wc -l <"$TMP/export.csv") - 1))
    bytes=$(wc -c <"$TMP/export.csv")
    rm -f "$TMP/export.csv"
    printf '%.1f s, %s rows, %s MB; peak during: %s\n' "$(echo "$end - $start" | bc)" "$rows" "$((bytes / 1048576))" \
        "$(awk 'BEGIN { m[1]=m[2]=m[3]=m[4]=0 } { for (i = 1; i <= 4; i++) if ($i > m[i]) m[i] = $i } END { print m[1], m[2], m[3], m[4] }' "$samples" | describe)"
}

RESULTS=()
for backend in $BACKENDS; do
    fresh_database "$backend" footfall_exportbench
    RUST_LOG=warn seed_site "    seed took %e s"
    serve_and_log_in
    # The dashboard once, as a person would open it before exporting.
    curl -fs -o /dev/null -b "$jar" "http://127.0.0.1:$port/sites/$SITE?period=30d"
    sleep 1
    before=$(memory "$SERVER" | describe)
    say "    server before: $before"
    for what in events page; do
        line=$(export_once "http://127.0.0.1:$port/sites/$SITE/export/$what.csv?period=30d")
        say "    $what.csv: $line"
        RESULTS+=("| $backend | $PROFILE | $what.csv | $line | before: $before |")
    done
    say "    server after: $(memory "$SERVER" | describe)"
    stop_server
done

say ""
say "| backend | build | export | result | server memory before |"
say "|---|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
