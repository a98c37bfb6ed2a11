#!/usr/bin/env bash
# Scale benchmark (issue 13): one Postgres, 1 collector against 3 (`footfall serve` processes on
# different ports, the same flags, one database), wrk spread over the collectors; accepted (202)
# and stored events/s in total and per collector, p99, how busy each batch writer was, where the
# CPU went (collectors, Postgres, wrk), and whether every accepted event was stored once all
# collectors drained after SIGTERM. Figures and what follows from them: docs/scaling.md.
#
#   bench/scale.sh                                    # 1 collector, then 3; 15 s each
#   CASES="1 3 1 3" DURATION=20s bench/scale.sh       # two rounds
#   FOOTFALL=/path/to/footfall bench/scale.sh         # use that binary, build nothing
#
# Environment:
#   CASES          collector counts to run, in order (default "1 3"); a case of N > 1 is also
#                  given as a ratio to the 1-collector case run before it
#   DURATION       measured wrk run per case (default 15s)
#   WARMUP         wrk warm-up before it (default 2s; its 202s are checked against the rows too)
#   CONNECTIONS    wrk connections in total, split evenly over the collectors (default 64)
#   THREADS        wrk threads in total (default 2), split likewise, at least one per wrk
#   CLIENTS        distinct client addresses in total (default 6000), split over the wrk
#                  threads, so that every case sees the same number of visitors
#   FOOTFALL       footfall binary (default: target/release/footfall, built with cargo)
#   RATE           paced load instead of as fast as possible: about RATE requests/s in total
#                  (each connection waits CONNECTIONS/RATE s, whole ms, before its next request),
#                  to compare the cases at the same work below saturation
#   POSTGRES_URL   server for the scratch databases (default postgres://postgres@127.0.0.1:5432/postgres)
#   KEEP=1         keep the scratch databases and directory
#
# How the load is spread: one wrk per collector, straight at its port, each with its share of
# the connections and a thread-id offset (bench/events.lua's third argument) so that the wrks
# send different visitors. No proxy in between: on a 2-core machine its CPU would be taken from
# the collectors and the database. Every collector runs with --trusted-proxies 127.0.0.1/32, as
# in bench/ingest.sh, so the X-Forwarded-For addresses make distinct visitors.
#
# Each case gets a fresh database (footfall_scale_<N>_<pid>, dropped afterwards). CPU is read
# from /proc before and after the measured run: every collector; the Postgres backends of this
# database (pg_stat_activity); the cluster's shared processes (WAL writer, checkpointer,
# background writer, autovacuum launcher); Postgres backends of other databases and everything
# else count as "other". WAL bytes per event come from pg_current_wal_lsn() (cluster-wide, so
# other databases' writes count too).
#
# Exit status: non-zero when events were lost or a collector did not exit 0 after SIGTERM.
# Throughput is reported, not asserted.

set -euo pipefail

CASES=${CASES:-"1 3"}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CLIENTS=${CLIENTS:-6000}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SITE=bench.example

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LUA="$ROOT/bench/events.lua"
RATE=${RATE:-}
CLK_TCK=$(getconf CLK_TCK)

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }

for tool in wrk psql curl; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

if [ -z "${FOOTFALL:-}" ]; then
    step "building footfall (release)"
    cargo build --release --quiet --bin footfall
    FOOTFALL=${CARGO_TARGET_DIR:-$ROOT/target}/release/footfall
fi

TMP=$(mktemp -d -t footfall-scale.XXXXXX)
if [ -n "$RATE" ]; then
    # wrk's delay() hook, in milliseconds, around the same script.
    DELAY_MS=$(( (CONNECTIONS * 1000 + RATE / 2) / RATE ))
    [ "$DELAY_MS" -ge 1 ] || { say "RATE $RATE is too high for $CONNECTIONS connections"; exit 2; }
    printf 'dofile("%s")\nfunction delay() return %d end\n' "$LUA" "$DELAY_MS" >"$TMP/paced.lua"
    LUA="$TMP/paced.lua"
fi
PIDS=()
DBS=()
cleanup() {
    local p d
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then say "kept: $TMP ${DBS[*]}"; return; fi
    for d in "${DBS[@]}"; do
        psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kv() { awk -F= -v k="$1" '$1 == k { print $2; exit }' "$2"; }
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

wait_healthy() { # wait_healthy PORT PID LOG
    local i
    for i in $(seq 1 600); do
        curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
        if ! kill -0 "$2" 2>/dev/null; then say "collector exited before answering /healthz:"; cat "$3"; exit 1; fi
        sleep 0.1
    done
    say "collector did not answer /healthz within 60 s:"; cat "$3"; exit 1
}

proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || true; }
machine_ticks() { awk '/^cpu / { idle = $5 + $6; busy = 0; for (i = 2; i <= NF; i++) busy += $i; print busy - idle; exit }' /proc/stat; }

# "PID TICKS" for the collectors and every process of the postgres user.
snapshot_ticks() {
    local p t
    for p in "${CASE_PIDS[@]}" $(pgrep -u postgres || true); do
        t=$(proc_ticks "$p")
        if [ -n "$t" ]; then echo "$p $t"; fi
    done
}

# "TID NAME TICKS" for every thread of the collectors (names with spaces joined by _).
thread_ticks() {
    local p f s comm rest
    for p in "${CASE_PIDS[@]}"; do
        for f in /proc/"$p"/task/*/stat; do
            s=$(cat "$f" 2>/dev/null) || continue
            comm=${s#*(}
            comm=${comm%)*}
            rest=${s##*) }
            awk -v tid="$(basename "$(dirname "$f")")" -v comm="${comm// /_}" '{ print tid, comm, $12 + $13 }' <<<"$rest"
        done
    done
}

# scrape NAME: every collector's /metrics into $TMP/NAME.<i>.metrics; metric NAME I KEY reads one.
scrape() {
    local i
    for i in "${!CASE_PORTS[@]}"; do
        curl -fsS --max-time 5 "http://127.0.0.1:${CASE_PORTS[$i]}/metrics" >"$TMP/$1.$i.metrics"
    done
}
metric() { awk -v k="$3" '$1 == k { print $2; exit }' "$TMP/$1.$2.metrics"; }

# run_wrks NAME DURATION: one wrk per collector, in parallel; key=value results in
# $TMP/NAME.<i>, with wrk's CPU seconds as wrk_cpu_s.
run_wrks() {
    local name=$1 duration=$2 i c t wpids=()
    t=$((THREADS / N > 0 ? THREADS / N : 1))
    for i in "${!CASE_PORTS[@]}"; do
        c=$((CONNECTIONS / N + (i < CONNECTIONS % N ? 1 : 0)))
        if [ "$t" -gt "$c" ]; then t=$c; fi
        /usr/bin/time -f '%U %S' -o "$TMP/$name.$i.time" \
            wrk -t"$t" -c"$c" -d"$duration" --timeout 10s -s "$LUA" \
            "http://127.0.0.1:${CASE_PORTS[$i]}" -- 4096 $((CLIENTS / (t * N))) $((i * t)) >"$TMP/$name.$i.wrk" &
        wpids+=($!)
    done
    for i in "${!wpids[@]}"; do
        wait "${wpids[$i]}"
        grep -E '^[a-z0-9_]+=' "$TMP/$name.$i.wrk" >"$TMP/$name.$i"
        awk '{ printf "wrk_cpu_s=%.2f\n", $1 + $2 }' "$TMP/$name.$i.time" >>"$TMP/$name.$i"
    done
}

declare -a ROWS=()
FAILED=0
BASE_RPS=""
BASE_SPS=""

PACED=""
if [ -n "$RATE" ]; then
    PACED=", paced: $DELAY_MS ms between the requests of a connection (at most $((CONNECTIONS * 1000 / DELAY_MS)) requests/s)"
fi
step "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -c$CONNECTIONS in total, -d$DURATION per case$PACED"
say "    Postgres: $(psql -qAt "$POSTGRES_URL" -c 'SHOW server_version') (shared_buffers $(psql -qAt "$POSTGRES_URL" -c 'SHOW shared_buffers'), synchronous_commit $(psql -qAt "$POSTGRES_URL" -c 'SHOW synchronous_commit'), max_connections $(psql -qAt "$POSTGRES_URL" -c 'SHOW max_connections'))"
say "    footfall: $FOOTFALL ($("$FOOTFALL" --version))"

for N in $CASES; do
    DB=footfall_scale_${N}_$$_${#ROWS[@]}
    DBS+=("$DB")
    URL="${POSTGRES_URL%/*}/$DB"
    step "$N collector(s) on one Postgres database ($DB)"
    psql -q "$POSTGRES_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    "$FOOTFALL" --database-url "$URL" site add "$SITE" >/dev/null

    CASE_PIDS=()
    CASE_PORTS=()
    for i in $(seq 0 $((N - 1))); do
        port=$(free_port)
        "$FOOTFALL" --database-url "$URL" serve --listen "127.0.0.1:$port" \
            --trusted-proxies 127.0.0.1/32 >"$TMP/$DB.$i.log" 2>&1 &
        CASE_PIDS+=($!)
        PIDS+=($!)
        CASE_PORTS+=("$port")
    done
    for i in "${!CASE_PIDS[@]}"; do wait_healthy "${CASE_PORTS[$i]}" "${CASE_PIDS[$i]}" "$TMP/$DB.$i.log"; done
    say "    collectors on ports ${CASE_PORTS[*]}; load average $(cut -d' ' -f1-3 /proc/loadavg)"

    run_wrks "$DB.warmup" "$WARMUP"

    wal0=$(psql -qAt "$URL" -c "SELECT pg_current_wal_lsn()")
    snapshot_ticks >"$TMP/$DB.ticks0"
    thread_ticks >"$TMP/$DB.threads0"
    scrape "$DB.m0"
    m0=$(machine_ticks)
    t0=$(date +%s.%N)
    run_wrks "$DB.run" "$DURATION"
    t1=$(date +%s.%N)
    m1=$(machine_ticks)
    scrape "$DB.m1"
    snapshot_ticks >"$TMP/$DB.ticks1"
    thread_ticks >"$TMP/$DB.threads1"
    psql -qAt -F' ' "$URL" -c "SELECT pid, COALESCE(datname, '-') FROM pg_stat_activity" >"$TMP/$DB.activity"
    wal1=$(psql -qAt "$URL" -c "SELECT pg_current_wal_lsn()")
    wal_bytes=$(psql -qAt "$URL" -c "SELECT pg_wal_lsn_diff('$wal1', '$wal0')::bigint")
    secs=$(calc "$t1 - $t0" '%.3f')

    # CPU cores per class over the run: collectors (each), postgres of this DB, postgres shared,
    # the rest of the machine.
    printf '%s\n' "${CASE_PIDS[@]}" >"$TMP/$DB.collectors"
    read -r pg_db pg_shared pg_otherdb coll_all < <(awk -v hz="$CLK_TCK" -v s="$secs" -v db="$DB" '
        FILENAME == ARGV[1] { coll[$1] = 1; next }
        FILENAME == ARGV[2] { dat[$1] = $2; next }
        FILENAME == ARGV[3] { before[$1] = $2; next }
        {
            d = $2 - ($1 in before ? before[$1] : 0)
            if ($1 in coll) c += d
            else if (!($1 in dat) || dat[$1] == "-") shared += d
            else if (dat[$1] == db) mine += d
            else other += d
        }
        END { printf "%.2f %.2f %.2f %.2f\n", mine / hz / s, shared / hz / s, other / hz / s, c / hz / s }
    ' "$TMP/$DB.collectors" "$TMP/$DB.activity" "$TMP/$DB.ticks0" "$TMP/$DB.ticks1")
    per_coll=()
    for p in "${CASE_PIDS[@]}"; do
        per_coll+=("$(awk -v p="$p" -v hz="$CLK_TCK" -v s="$secs" '
            FILENAME == ARGV[1] { if ($1 == p) b = $2; next } $1 == p { printf "%.2f", ($2 - b) / hz / s }
        ' "$TMP/$DB.ticks0" "$TMP/$DB.ticks1")")
    done
    machine=$(calc "($m1 - $m0) / $CLK_TCK / $secs")
    # The collectors' CPU by thread kind, all collectors together: HTTP workers (actix-server
    # worker), the async runtime (tokio-rt-worker: the batch writer, Postgres I/O, background
    # jobs), the rest.
    by_thread=$(awk -v hz="$CLK_TCK" -v s="$secs" '
        NR == FNR { before[$1] = $3; next }
        { d = $3 - ($1 in before ? before[$1] : 0); n = $2
          k = n ~ /^actix-server_wo/ ? "HTTP workers" : n ~ /^tokio-rt/ ? "tokio runtime (writer, database I/O)" : "other threads"
          t[k] += d }
        END { for (k in t) printf "%s %.2f, ", k, t[k] / hz / s }
    ' "$TMP/$DB.threads0" "$TMP/$DB.threads1" | sed 's/, $//')

    # Throughput and latency per collector. Accepted: wrk's 202s. Stored: what the collector's
    # writer stored during the run (footfall_events_stored_total), which is the steady rate: a
    # collector also accepts up to --queue-capacity events (50,000) into memory beyond what it
    # writes, and 3 queues filling during a short run would inflate the 3-collector figure.
    # Writer busy: the share of the run its batch writes took (flush duration), 1.00 when it
    # never waited for events.
    total_rps=0; total_sps=0; run202=0; stored_run=0; warm202=0; other=0; p99s=(); rpss=(); spss=(); busy=(); batch=()
    wrk_cpu=0
    for i in "${!CASE_PORTS[@]}"; do
        f="$TMP/$DB.run.$i"
        d_stored=$(( $(metric "$DB.m1" "$i" footfall_events_stored_total) - $(metric "$DB.m0" "$i" footfall_events_stored_total) ))
        d_batches=$(( $(metric "$DB.m1" "$i" footfall_batches_written_total) - $(metric "$DB.m0" "$i" footfall_batches_written_total) ))
        d_flush=$(calc "$(metric "$DB.m1" "$i" footfall_flush_duration_seconds_sum) - $(metric "$DB.m0" "$i" footfall_flush_duration_seconds_sum)" '%.3f')
        stored_run=$((stored_run + d_stored))
        spss+=("$(calc "$d_stored / $secs" '%.1f')")
        total_sps=$(calc "$total_sps + $d_stored / $secs" '%.1f')
        busy+=("$(calc "$d_flush / $secs")")
        batch+=("$(awk -v n="$d_stored" -v b="$d_batches" -v f="$d_flush" 'BEGIN { if (b > 0) printf "%.0f events in %.0f ms", n / b, 1000 * f / b; else printf "none" }')")
        rpss+=("$(kv accepted_per_s "$f")")
        p99s+=("$(kv latency_p99_ms "$f")")
        total_rps=$(calc "$total_rps + $(kv accepted_per_s "$f")" '%.1f')
        run202=$((run202 + $(kv status_202 "$f")))
        warm202=$((warm202 + $(kv status_202 "$TMP/$DB.warmup.$i")))
        other=$((other + $(kv status_other "$f") + $(kv status_other "$TMP/$DB.warmup.$i")))
        wrk_cpu=$(calc "$wrk_cpu + $(kv wrk_cpu_s "$f")")
        grep -E '^status_[0-9]+=' "$f" | grep -v '^status_202=' | sed "s/^/      collector $((i + 1)) non-202 /" || true
        e=$(( $(kv errors_connect "$f") + $(kv errors_read "$f") + $(kv errors_write "$f") + $(kv errors_timeout "$f") ))
        if [ "$e" -gt 0 ]; then say "      collector $((i + 1)): $e socket errors (connect/read/write/timeout)"; fi
    done
    wrk_cores=$(calc "$wrk_cpu / $secs")
    p99_max=$(printf '%s\n' "${p99s[@]}" | sort -g | tail -n1)
    # Everything else on the machine, other databases' Postgres backends included.
    rest=$(calc "$machine - $coll_all - $pg_db - $pg_shared - $wrk_cores")
    case $rest in -*) rest=0.00 ;; esac # rounding at the edges of the run

    # Drain: every collector's own count of accepted events, then SIGTERM to all at once.
    sleep 0.2
    accepted=0
    for i in "${!CASE_PORTS[@]}"; do
        a=$(curl -fsS --max-time 5 "http://127.0.0.1:${CASE_PORTS[$i]}/metrics" | awk '$1 == "footfall_events_accepted_total" { print $2 }')
        accepted=$((accepted + ${a:-0}))
    done
    t_stop=$(date +%s.%N)
    for p in "${CASE_PIDS[@]}"; do kill -TERM "$p"; done
    rcs=()
    for p in "${CASE_PIDS[@]}"; do
        rc=0
        wait "$p" || rc=$?
        rcs+=("$rc")
        if [ "$rc" -ne 0 ]; then FAILED=1; fi
    done
    drain_s=$(calc "$(date +%s.%N) - $t_stop")
    rows=$(psql -qAt "$URL" -c "SELECT count(*) FROM events")
    expected=$((warm202 + run202))
    lost=$((expected > rows ? expected - rows : 0))
    lost_m=$((accepted > rows ? accepted - rows : 0))
    lost=$((lost > lost_m ? lost : lost_m))
    if [ "$lost" -gt 0 ]; then FAILED=1; fi

    us_coll=$(awk -v c="$coll_all" -v r="$total_sps" 'BEGIN { printf "%.1f", (r > 0 ? 1e6 * c / r : 0) }')
    us_pg=$(awk -v a="$pg_db" -v b="$pg_shared" -v r="$total_sps" 'BEGIN { printf "%.1f", (r > 0 ? 1e6 * (a + b) / r : 0) }')
    wal_per=$(awk -v w="$wal_bytes" -v n="$stored_run" 'BEGIN { printf "%.0f", (n > 0 ? w / n : 0) }')
    if [ "$N" -eq 1 ]; then BASE_RPS=$total_rps; BASE_SPS=$total_sps; ratio=1.00; sratio=1.00
    elif [ -n "$BASE_RPS" ]; then ratio=$(calc "$total_rps / $BASE_RPS"); sratio=$(calc "$total_sps / $BASE_SPS")
    else ratio=n/a; sratio=n/a; fi

    say "    accepted:  $total_rps events/s in total ($run202 x 202 in ${secs} s), per collector: ${rpss[*]}"
    say "    stored:    $total_sps events/s in total during the run, per collector: ${spss[*]}"
    say "    writers:   busy ${busy[*]} of the run; mean batch: $(printf '%s; ' "${batch[@]}" | sed 's/; $//')"
    say "    p99:       ${p99s[*]} ms (per collector)"
    say "    CPU (cores of $(nproc)): collectors $coll_all (each: ${per_coll[*]}), Postgres backends of this database $pg_db, Postgres shared processes $pg_shared, wrk $wrk_cores, other $rest (of which Postgres for other databases $pg_otherdb); machine $machine"
    say "    collectors' threads: $by_thread"
    say "    per stored event: collectors ${us_coll} µs CPU, Postgres ${us_pg} µs CPU, ${wal_per} bytes of WAL"
    say "    SIGTERM → exit codes ${rcs[*]} after ${drain_s} s; rows $rows, 202s (warm-up + run) $expected, accepted by /metrics $accepted, non-202 $other, lost $lost"
    ROWS+=("| $N | $total_sps | $(printf '%s / ' "${spss[@]}" | sed 's| / $||') | $sratio | $total_rps | $ratio | $p99_max | $(printf '%s / ' "${busy[@]}" | sed 's| / $||') | $coll_all | $pg_db + $pg_shared | $wrk_cores | $rest | $us_coll / $us_pg | $wal_per | $rows / $expected | $lost |")
    PIDS=()
    if [ -z "${KEEP:-}" ]; then
        psql -q "$POSTGRES_URL" -c "DROP DATABASE $DB WITH (FORCE)" >/dev/null
        DBS=()
    fi
done

step "summary (wrk -c$CONNECTIONS in total, -d$DURATION$PACED; $(nproc) cores; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
say ""
say "| collectors | stored/s | per collector | ratio to 1 | accepted/s (202) | ratio to 1 | p99 ms (worst) | writer busy | CPU collectors | CPU Postgres (this DB + shared) | CPU wrk | CPU other | µs CPU/event collectors / Postgres | WAL B/event | rows / 202s | lost |"
say "|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
say ""
if [ "$FAILED" -ne 0 ]; then
    say "FAILED: events were lost or a collector did not exit 0 after SIGTERM (see above)."
    exit 1
fi
say "no events lost; every collector exited 0 after SIGTERM. (Throughput is reported, not asserted.)"
