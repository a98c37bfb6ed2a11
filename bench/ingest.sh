#!/usr/bin/env bash
# Ingest benchmark: how many events/s footfall's collection endpoint accepts on SQLite, compared
# with the HTTP ceiling of this machine, and whether every accepted event reaches the database.
#
#   bench/ingest.sh                              # full run: ceiling, empty DB, 5M-event DB
#   SKIP_SEEDED=1 DURATION=10s bench/ingest.sh   # quick run: ceiling and empty DB only
#
# Environment:
#   DURATION       wrk run length per measurement (default 20s)
#   WARMUP         wrk warm-up before each measurement (default 2s; its 202s are counted too)
#   CONNECTIONS    wrk connections (default 64)
#   THREADS        wrk threads (default 2)
#   SEEDED_EVENTS  events seeded before the second footfall run (default 5000000)
#   SKIP_SEEDED=1  skip the seeded run
#   SEED_BATCH_SIZE  `footfall seed --batch-size` (default 5000, seed's own default)
#
# What it does:
#   1. builds `footfall` and `examples/ceiling.rs` (release);
#   2. runs the ceiling server (parses the same JSON, answers 202, nothing else) under wrk with
#      bench/events.lua: the most this machine can serve with this client;
#   3. for each scenario (empty DB; DB already holding SEEDED_EVENTS seeded events): a fresh
#      SQLite database, `footfall site add bench.example`, `footfall serve` with
#      --trusted-proxies 127.0.0.1/32 (the script sends varied X-Forwarded-For so visitors
#      differ), warm-up, measured wrk run, peak RSS (VmHWM), SIGTERM and a graceful drain, then
#      rows in `events` compared with the events there before plus every 202 wrk received.
#
# Exit status: non-zero when events were lost or footfall did not exit 0 after SIGTERM.
# Performance targets (ratio >= 0.5, seeded/empty >= 0.9, p99 < 20 ms, RSS < 150 MB) are
# reported, not asserted: they depend on the machine.
#
# wrk and the server share the machine's cores; that is true for the ceiling and for footfall
# alike, which is why the ratio to the ceiling is the headline number.

set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SEEDED_EVENTS=${SEEDED_EVENTS:-5000000}
SKIP_SEEDED=${SKIP_SEEDED:-0}
SEED_BATCH_SIZE=${SEED_BATCH_SIZE:-5000}
SITE=bench.example

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LUA="$ROOT/bench/events.lua"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FOOTFALL="$TARGET_DIR/release/footfall"
CEILING="$TARGET_DIR/release/examples/ceiling"
CLK_TCK=$(getconf CLK_TCK)

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }

# --- tools ---------------------------------------------------------------------------------------

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
apt_updated=0
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    step "installing $2 (apt)"
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need sqlite3 sqlite3
need curl curl

# --- build ---------------------------------------------------------------------------------------

step "building footfall and the ceiling server (release)"
cargo build --release --bin footfall --example ceiling

# --- scratch space and cleanup -------------------------------------------------------------------

TMP=$(mktemp -d -t footfall-bench.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -------------------------------------------------------------------------------------

free_port() { # free_port FALLBACK
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null || echo "$1"
}

# kv KEY FILE: the value of a key=value line.
kv() { awk -F= -v k="$1" '$1 == k { print $2; exit }' "$2"; }

# Float arithmetic.
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b > 0) printf f, a / b; else printf "n/a" }'; }
fcmp() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
    if (a == "n/a" || a == "") exit 1
    if (op == "<") exit !(a + 0 < b + 0); if (op == ">=") exit !(a + 0 >= b + 0); exit 1 }'; }

wait_healthy() { # wait_healthy PORT PID LOG
    local i
    for i in $(seq 1 600); do
        if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            say "server exited before answering /healthz; its log:"
            cat "$3"
            return 1
        fi
        sleep 0.1
    done
    say "server did not answer /healthz within 60 s; its log:"
    cat "$3"
    return 1
}

# Peak resident set size (high-water mark) of a live process, in kB.
vm_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Per-thread CPU ticks of a process: "TID NAME TICKS" lines.
thread_ticks() {
    local f s comm rest
    for f in /proc/"$1"/task/*/stat; do
        s=$(cat "$f" 2>/dev/null) || continue
        comm=${s#*(}
        comm=${comm%)*}
        comm=${comm// /_}
        rest=${s##*) }
        # After "pid (comm) ": state is field 1, utime field 12, stime field 13.
        awk -v tid="$(basename "$(dirname "$f")")" -v comm="$comm" \
            '{ print tid, comm, $12 + $13 }' <<<"$rest"
    done
}

# Whole-process CPU ticks (all threads, including exited ones).
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# Machine-wide "busy idle" jiffies from /proc/stat.
machine_ticks() { awk '/^cpu / { idle = $5 + $6; busy = 0; for (i = 2; i <= NF; i++) busy += $i; print busy - idle, idle; exit }' /proc/stat; }

# report_threads BEFORE AFTER SECONDS: CPU per thread during the run, busiest first.
report_threads() {
    awk -v hz="$CLK_TCK" -v secs="$3" '
        NR == FNR { before[$1] = $3; next }
        { d = $3 - before[$1]; if (d > 0) { printf "%6.1f%%  %s (tid %s)\n", 100 * d / hz / secs, $2, $1 } }
    ' "$1" "$2" | sort -rn | head -8 | sed 's/^/      /'
}

# run_wrk PORT DURATION OUT: wrk with the event script; key=value results in OUT, wrk's own
# output in OUT.wrk. Also records wrk's CPU seconds (user+sys) as wrk_cpu_s.
run_wrk() {
    local port=$1 duration=$2 out=$3
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f 'wrk_cpu_s=%U %S' -o "$out.time" \
            wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 10s -s "$LUA" \
            "http://127.0.0.1:$port" >"$out.wrk"
        awk -F'[= ]' '{ printf "wrk_cpu_s=%.2f\n", $2 + $3 }' "$out.time" >"$out.cpu"
    else
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 10s -s "$LUA" \
            "http://127.0.0.1:$port" >"$out.wrk"
        echo "wrk_cpu_s=n/a" >"$out.cpu"
    fi
    grep -E '^[a-z0-9_]+=' "$out.wrk" >"$out"
    cat "$out.cpu" >>"$out"
}

# measure PID PORT NAME: warm-up, then the measured run with CPU accounting. Leaves results in
# $TMP/NAME.warmup and $TMP/NAME.run.
measure() {
    local pid=$1 port=$2 name=$3
    say "    load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    run_wrk "$port" "$WARMUP" "$TMP/$name.warmup"
    thread_ticks "$pid" >"$TMP/$name.threads.before"
    local p0 m0 m0i m1 m1i p1 t0 t1 secs
    p0=$(proc_ticks "$pid")
    read -r m0 m0i < <(machine_ticks)
    t0=$(date +%s.%N)
    run_wrk "$port" "$DURATION" "$TMP/$name.run"
    t1=$(date +%s.%N)
    p1=$(proc_ticks "$pid")
    read -r m1 m1i < <(machine_ticks)
    thread_ticks "$pid" >"$TMP/$name.threads.after"
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    {
        echo "server_cpu_pct=$(awk -v d=$((p1 - p0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * d / hz / s }')"
        echo "machine_busy_pct=$(awk -v b=$((m1 - m0)) -v i=$((m1i - m0i)) 'BEGIN { t = b + i; printf("%.0f", t > 0 ? 100 * b / t : 0) }')"
        echo "machine_busy_cores=$(awk -v b=$((m1 - m0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.2f", b / hz / s }')"
        echo "wall_s=$secs"
    } >>"$TMP/$name.run"
}

# cpu_line FILE SERVER_NAME: where the machine's CPU went during the measured run.
cpu_line() {
    local f=$1 server_cores wrk_cores machine others
    server_cores=$(fdiv "$(kv server_cpu_pct "$f")" 100)
    wrk_cores=$(fdiv "$(kv wrk_cpu_s "$f")" "$(kv wall_s "$f")")
    machine=$(kv machine_busy_cores "$f")
    others=$(awk -v m="$machine" -v a="$server_cores" -v b="$wrk_cores" 'BEGIN { o = m - a - b; printf "%.2f", o < 0 ? 0 : o }')
    say "    CPU during the run (cores of $(nproc)): $2 $server_cores, wrk $wrk_cores, other processes $others; machine busy $(kv machine_busy_pct "$f")%"
    if fcmp "$others" '>=' 0.25; then
        NOISY+=("${3:-$2}: other processes used $others cores")
    fi
}

# --- results -------------------------------------------------------------------------------------

declare -A RPS P50 P99 RSS_MB OK202 ROWS EXPECTED LOST EXIT OTHER
SCENARIOS=()
NOISY=()
FAILED=0

# --- ceiling -------------------------------------------------------------------------------------

step "ceiling: trivial actix-web handler (parse JSON, answer 202), wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
port=$(free_port 18081)
"$CEILING" "127.0.0.1:$port" >"$TMP/ceiling.log" 2>&1 &
SERVER_PID=$!
wait_healthy "$port" "$SERVER_PID" "$TMP/ceiling.log"
measure "$SERVER_PID" "$port" ceiling
ceiling_rss_kb=$(vm_hwm_kb "$SERVER_PID")
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
f="$TMP/ceiling.run"
RPS[ceiling]=$(kv accepted_per_s "$f")
P50[ceiling]=$(kv latency_p50_ms "$f")
P99[ceiling]=$(kv latency_p99_ms "$f")
RSS_MB[ceiling]=$(fdiv "$ceiling_rss_kb" 1024 '%.1f')
OK202[ceiling]=$(kv status_202 "$f")
OTHER[ceiling]=$(kv status_other "$f")
say "    measured:  $(kv status_202 "$f") x 202, $(kv status_other "$f") other, ${RPS[ceiling]} req/s"
say "    latency:   p50 ${P50[ceiling]} ms, p99 ${P99[ceiling]} ms, max $(kv latency_max_ms "$f") ms"
cpu_line "$f" ceiling
say "    peak RSS:  ${RSS_MB[ceiling]} MB"
say "    busiest server threads:"
report_threads "$TMP/ceiling.threads.before" "$TMP/ceiling.threads.after" "$(kv wall_s "$f")"

# --- footfall scenarios --------------------------------------------------------------------------

run_footfall() { # run_footfall NAME SEED_EVENTS
    local name=$1 seed=$2
    local db="$TMP/$name.db" log="$TMP/$name.log"
    local url="sqlite://$db"
    SCENARIOS+=("$name")
    step "footfall, $name database: wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
    "$FOOTFALL" --database-url "$url" site add "$SITE" | sed 's/^/    /'
    if [ "$seed" -gt 0 ]; then
        local t0 t1
        say "    seeding $seed events over 30 days (batches of $SEED_BATCH_SIZE)..."
        t0=$(date +%s.%N)
        if ! "$FOOTFALL" --database-url "$url" seed --site "$SITE" --events "$seed" --days 30 \
            --batch-size "$SEED_BATCH_SIZE" >"$TMP/$name.seed.out" 2>"$TMP/$name.seed.log"; then
            say "    seeding failed; its output:"
            cat "$TMP/$name.seed.out" "$TMP/$name.seed.log"
            exit 1
        fi
        t1=$(date +%s.%N)
        sed 's/^/    /' "$TMP/$name.seed.out"
        say "    seeding took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s wall ($(awk -v a="$t0" -v b="$t1" -v n="$seed" 'BEGIN { printf "%.0f", n / (b - a) }') events/s); database file $(du -m "$db" | cut -f1) MB"
    fi
    local before
    before=$(sqlite3 "$db" "select count(*) from events")
    say "    rows in events before serving: $before"

    local port
    port=$(free_port 18080)
    "$FOOTFALL" --database-url "$url" serve --listen "127.0.0.1:$port" \
        --trusted-proxies 127.0.0.1/32 >"$log" 2>&1 &
    SERVER_PID=$!
    local pid=$SERVER_PID
    wait_healthy "$port" "$pid" "$log"
    measure "$pid" "$port" "$name"

    local metrics rss_kb
    sleep 0.2 # let requests still in flight when wrk stopped finish
    metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" || echo "(metrics unavailable)")
    rss_kb=$(vm_hwm_kb "$pid")

    local t_stop rc=0 i
    t_stop=$(date +%s.%N)
    kill -TERM "$pid"
    for i in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "    footfall still running 60 s after SIGTERM: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" || rc=$?
    SERVER_PID=""
    local drain_s
    drain_s=$(awk -v a="$t_stop" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

    # Two checks: every 202 wrk saw is a row, and every event footfall counted as accepted is a
    # row. They differ by the requests still in flight when wrk stopped: footfall accepted them
    # but wrk had closed the connection and never counted the 202.
    local rows warm run expected accepted lost lost_metric
    rows=$(sqlite3 "$db" "select count(*) from events")
    warm=$(kv status_202 "$TMP/$name.warmup")
    run=$(kv status_202 "$TMP/$name.run")
    expected=$((before + warm + run))
    accepted=$(awk '$1 == "footfall_events_accepted_total" { print $2 }' <<<"$metrics")
    accepted=${accepted:-0}
    lost=$((expected > rows ? expected - rows : 0))
    lost_metric=$((before + accepted > rows ? before + accepted - rows : 0))
    lost=$((lost > lost_metric ? lost : lost_metric))

    local f="$TMP/$name.run"
    RPS[$name]=$(kv accepted_per_s "$f")
    P50[$name]=$(kv latency_p50_ms "$f")
    P99[$name]=$(kv latency_p99_ms "$f")
    RSS_MB[$name]=$(fdiv "$rss_kb" 1024 '%.1f')
    OK202[$name]=$((warm + run))
    OTHER[$name]=$(($(kv status_other "$TMP/$name.warmup") + $(kv status_other "$f")))
    ROWS[$name]=$((rows - before))
    EXPECTED[$name]=$((warm + run))
    LOST[$name]=$lost
    EXIT[$name]=$rc

    say "    warm-up:   $warm x 202, $(kv status_other "$TMP/$name.warmup") other"
    say "    measured:  $run x 202, $(kv status_other "$f") other, ${RPS[$name]} accepted/s ($(kv requests_per_s "$f") req/s)"
    grep -E '^status_[0-9]+=' "$f" | grep -v '^status_202=' | sed 's/^/      non-202 /' || true
    say "    latency:   p50 ${P50[$name]} ms, p90 $(kv latency_p90_ms "$f") ms, p99 ${P99[$name]} ms, p99.9 $(kv latency_p999_ms "$f") ms, max $(kv latency_max_ms "$f") ms"
    say "    socket errors: connect $(kv errors_connect "$f"), read $(kv errors_read "$f"), write $(kv errors_write "$f"), timeout $(kv errors_timeout "$f")"
    cpu_line "$f" footfall "footfall, $name DB"
    say "    busiest footfall threads:"
    report_threads "$TMP/$name.threads.before" "$TMP/$name.threads.after" "$(kv wall_s "$f")"
    say "    peak RSS (VmHWM): ${RSS_MB[$name]} MB"
    say "    /metrics before SIGTERM:"
    grep -E '^footfall_' <<<"$metrics" | grep -vE '_bucket\{' | grep -vE '^footfall_events_rejected_total\{[^}]*\} 0$' | sed 's/^/      /' || true
    say "    SIGTERM → exit code $rc after ${drain_s} s"
    say "    rows: $before before + $((warm + run)) answered 202 (wrk) = $expected; $before + $accepted accepted (footfall_events_accepted_total) = $((before + accepted)); $rows stored → LOST $lost"
    if [ "$rows" -gt "$expected" ]; then
        say "      ($((rows - expected)) rows more than 202s seen by wrk: requests in flight when wrk stopped)"
    fi
    local problems
    sed 's/\x1b\[[0-9;]*m//g' "$log" >"$log.txt" # without colours
    log="$log.txt"
    problems=$(grep -cE ' (WARN|ERROR) ' "$log" || true)
    if [ "$problems" -gt 0 ]; then
        say "    footfall logged $problems WARN/ERROR lines; first ones:"
        grep -E ' (WARN|ERROR) ' "$log" | head -5 | sed 's/^/      /'
    fi
    say "    footfall's last log lines:"
    tail -n 3 "$log" | sed 's/^/      /'

    if [ "$lost" -gt 0 ] || [ "$rc" -ne 0 ]; then
        FAILED=1
    fi
}

run_footfall empty 0
if [ "$SKIP_SEEDED" != 1 ]; then
    run_footfall seeded "$SEEDED_EVENTS"
fi

# --- summary -------------------------------------------------------------------------------------

label() {
    case $1 in
        ceiling) echo "ceiling (parse + 202)" ;;
        empty) echo "footfall, empty DB" ;;
        seeded) echo "footfall, $SEEDED_EVENTS seeded events" ;;
    esac
}
mark() { if fcmp "$1" "$2" "$3"; then echo "ok"; else echo "MISSED"; fi; }

step "summary (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, SQLite)"
say ""
say "| run | accepted/s | ratio to ceiling | p50 ms | p99 ms | peak RSS MB | 202s (incl. warm-up) | non-202 | rows added | lost | exit |"
say "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
say "| $(label ceiling) | ${RPS[ceiling]} | 1.00 | ${P50[ceiling]} | ${P99[ceiling]} | ${RSS_MB[ceiling]} | – | ${OTHER[ceiling]} | – | – | – |"
for s in "${SCENARIOS[@]}"; do
    say "| $(label "$s") | ${RPS[$s]} | $(fdiv "${RPS[$s]}" "${RPS[ceiling]}") | ${P50[$s]} | ${P99[$s]} | ${RSS_MB[$s]} | ${OK202[$s]} | ${OTHER[$s]} | ${ROWS[$s]} | ${LOST[$s]} | ${EXIT[$s]} |"
done
say ""
for s in "${SCENARIOS[@]}"; do
    ratio=$(fdiv "${RPS[$s]}" "${RPS[ceiling]}")
    say "- $(label "$s"): ratio $ratio (≥ 0.5: $(mark "$ratio" '>=' 0.5)), p99 ${P99[$s]} ms (< 20: $(mark "${P99[$s]}" '<' 20)), peak RSS ${RSS_MB[$s]} MB (< 150: $(mark "${RSS_MB[$s]}" '<' 150)), lost ${LOST[$s]}, exit ${EXIT[$s]}"
done
if [ -n "${RPS[seeded]:-}" ]; then
    growth=$(fdiv "${RPS[seeded]}" "${RPS[empty]}")
    say "- seeded / empty throughput: $growth (≥ 0.90: $(mark "$growth" '>=' 0.9))"
fi
if [ "${#NOISY[@]}" -gt 0 ]; then
    say "- WARNING: the machine was not quiet, so throughputs and ratios are noisy:"
    for n in "${NOISY[@]}"; do say "    - $n"; done
fi
if [ "$FAILED" -ne 0 ]; then
    say ""
    say "FAILED: events were lost or footfall did not exit 0 after SIGTERM (see above)."
    exit 1
fi
say ""
say "no events lost; footfall exited 0 after every SIGTERM. (Performance targets are reported, not asserted.)"
