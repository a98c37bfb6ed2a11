#!/usr/bin/env bash
# Import benchmark: lines/s of `footfall import` on a generated access log (examples/access_log.rs),
# plain and gzip-compressed, into a fresh SQLite database (and Postgres when POSTGRES_URL is set),
# with peak memory.
#
#   bench/import.sh                        # 1,000,000 lines over 7 days
#   LINES=200000 bench/import.sh           # quicker
#   POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/import.sh
#
# Postgres runs use a fresh database named footfall_bench_import, dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin footfall --example access_log
bin=target/release/footfall
cargo run --release --quiet --example access_log -- "$LINES" 7 >"$work/access.log"
gzip -k "$work/access.log"
printf 'log: %s lines, %s plain, %s gzip\n' "$LINES" \
  "$(du -h "$work/access.log" | cut -f1)" "$(du -h "$work/access.log.gz" | cut -f1)"

run() { # label database-url file
  FOOTFALL_DATABASE_URL=$2 RUST_LOG=warn "$bin" site add example.com >/dev/null
  printf '\n== %s\n' "$1"
  FOOTFALL_DATABASE_URL=$2 RUST_LOG=warn /usr/bin/time -f 'peak RSS %M KiB, %e s wall, %U s user' \
    "$bin" import --site example.com --format combined "$3" | tail -n 2
}

run "SQLite, plain" "sqlite://$work/plain.db" "$work/access.log"
run "SQLite, gzip" "sqlite://$work/gzip.db" "$work/access.log.gz"

if [ -n "${POSTGRES_URL:-}" ]; then
  db=footfall_bench_import
  pg_url="${POSTGRES_URL%/*}/$db"
  psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  run "Postgres, gzip" "$pg_url" "$work/access.log.gz"
  psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi
