#!/usr/bin/env bash
# The one-time upgrade of migration 0008 (src/store/sql/upgrade.rs): `footfall serve` decodes
# paths, referrers and props stored percent-encoded by older versions, in the background while it
# collects. Worst case measured here: every event's path and every visit's entry and exit page
# percent-encoded. Prints, per backend, the seconds it took, rows per second, the seeding rate of
# the same run for scale, and the slowest /healthz answer while it ran.
#
#   bench/decode-upgrade.sh                    # 1M events, SQLite and Postgres
#   EVENTS=10000000 BACKENDS=sqlite bench/decode-upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
BIN=target/release/footfall
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

encode_sql="UPDATE events SET path = path || '/%C3%BCber-%E6%97%A5%E6%9C%AC';
UPDATE sessions SET entry_path = entry_path || '/%C3%BCber-%E6%97%A5%E6%9C%AC',
                    exit_path = exit_path || '/%C3%BCber-%E6%97%A5%E6%9C%AC';
DELETE FROM pending_upgrades;
INSERT INTO pending_upgrades (name) VALUES ('decode_text');"

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$work/bench.db"; run_sql() { sqlite3 "$work/bench.db" "$1"; } ;;
    postgres)
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS footfall_upgrade_bench" -c "CREATE DATABASE footfall_upgrade_bench"
      url="${PG_ADMIN%/*}/footfall_upgrade_bench"; run_sql() { psql -q "$url" -c "$1"; } ;;
  esac
  $BIN --database-url "$url" site add example.com >/dev/null
  t0=$(date +%s.%N)
  $BIN --database-url "$url" seed --site example.com --events "$EVENTS" --days 30 >/dev/null
  seed_s=$(echo "$(date +%s.%N) - $t0" | bc)
  run_sql "$encode_sql" >/dev/null
  sessions=$(run_sql "SELECT COUNT(*) FROM sessions" | grep -Eo '[0-9]+' | head -1)
  rows=$((EVENTS + sessions))

  log="$work/serve-$backend.log"
  t0=$(date +%s.%N)
  RUST_LOG=info $BIN --database-url "$url" serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
  slowest=0
  until grep -q "stored paths, referrers and props decoded" "$log"; do
    ms=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/healthz" || echo 0)
    slowest=$(echo "if ($ms > $slowest) $ms else $slowest" | bc)
    kill -0 $pid || { cat "$log"; exit 1; }
    sleep 0.2
  done
  upgrade_s=$(echo "$(date +%s.%N) - $t0" | bc)
  kill -TERM $pid; wait $pid || true
  left=$(run_sql "SELECT COUNT(*) FROM events WHERE path LIKE '%!%C3%' ESCAPE '!'" | grep -Eo '[0-9]+' | head -1)
  printf '%-8s %s events + %s visits: upgrade %.1f s (%.0f rows/s); seeding the same events %.1f s (upgrade/seed %.2f); slowest /healthz %.0f ms; rows left encoded %s\n' \
    "$backend" "$EVENTS" "$sessions" "$upgrade_s" "$(echo "$rows / $upgrade_s" | bc -l)" "$seed_s" \
    "$(echo "$upgrade_s / $seed_s" | bc -l)" "$(echo "$slowest * 1000" | bc -l)" "$left"
done
