# Steps the dashboard, freshness and export benchmarks share: the binary and a scratch
# directory, a scratch database per backend, a seeded site, a server, and curl logged in to it.
# Sourced from the repository root after the caller has set EVENTS and DAYS.

POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SITE=${SITE:-bench.example}
EMAIL=bench@example.com
PASSWORD=bench-password-123

say() { printf '%s\n' "$*"; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

SERVER=
SAMPLER=
PGDB=
# For `trap cleanup EXIT`: stops what is still running and drops the scratch data.
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then say "kept: $TMP ${PGDB:+and database $PGDB}"; return; fi
    [ -n "$PGDB" ] && psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$TMP"
}

# Builds the release binary (FOOTFALL) and makes the scratch directory (TMP, named after $1),
# which `cleanup` removes on exit.
build_and_scratch() {
    say "==> building (release)"
    cargo build --release --quiet --bin footfall
    FOOTFALL=$PWD/target/release/footfall
    TMP=$(mktemp -d "/tmp/footfall-$1.XXXXXX")
    trap cleanup EXIT
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets `url` to a fresh database on backend $1; a Postgres one is named $2_<pid>.
fresh_database() {
    case $1 in
        sqlite) url="sqlite://$TMP/bench.db" ;;
        postgres)
            PGDB=$2_$$
            psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CREATE DATABASE $PGDB" >/dev/null
            url="${POSTGRES_URL%/*}/$PGDB" ;;
        *) say "unknown backend $1"; exit 2 ;;
    esac
}

# Adds $SITE to `url` and seeds it; $1 is the /usr/bin/time format of the line reporting it.
seed_site() {
    say "==> $backend: seeding $EVENTS events over $DAYS days"
    "$FOOTFALL" --database-url "$url" site add "$SITE" --timezone "${SITE_TZ:-Europe/Berlin}" >/dev/null
    /usr/bin/time -f "$1" "$FOOTFALL" --database-url "$url" seed --site "$SITE" --events "$EVENTS" --days "$DAYS" 2>&1 | sed 's/^/    /'
}

# Adds the bench user, serves `url` on a free `port` (pid in SERVER) and logs curl in (cookie
# jar in `jar`).
serve_and_log_in() {
    printf '%s\n' "$PASSWORD" | "$FOOTFALL" --database-url "$url" user add "$EMAIL" --password-stdin >/dev/null 2>&1 || true  # a reused database has the user already
    port=$(free_port)
    RUST_LOG=warn "$FOOTFALL" --database-url "$url" serve --listen "127.0.0.1:$port" >"$TMP/serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    jar="$TMP/cookies"
    rm -f "$jar"
    local token
    token=$(curl -fs -c "$jar" -b "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
    curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
        --data-urlencode "csrf_token=$token" --data-urlencode "next=/sites" "http://127.0.0.1:$port/login"
}

stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }
