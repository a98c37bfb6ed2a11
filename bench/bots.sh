#!/usr/bin/env bash
# How well footfall tells crawlers from people, on public lists (npm packages, fetched here):
# crawler-user-agents (every "instances" user agent) and user-agents (distinct real-browser user
# agents from real traffic). Prints the share filtered / kept and the classifier's cost per
# distinct user agent. Usage: bench/bots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && npm pack crawler-user-agents user-agents --silent >/dev/null && for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)
node -e '
const fs = require("fs"), dir = process.argv[1];
const find = (prefix) => fs.readdirSync(dir).find((f) => f.startsWith(prefix) && !f.endsWith(".tgz"));
const crawlers = JSON.parse(fs.readFileSync(`${dir}/${find("crawler-user-agents-")}/package/crawler-user-agents.json`));
fs.writeFileSync(`${dir}/bots.txt`, crawlers.flatMap((c) => c.instances || []).join("\n") + "\n");
const real = JSON.parse(fs.readFileSync(`${dir}/${find("user-agents-")}/package/dist/user-agents.json`));
fs.writeFileSync(`${dir}/humans.txt`, [...new Set(real.map((r) => r.userAgent))].sort().join("\n") + "\n");
' "$dir"
ls "$dir" | grep -E '^(crawler-)?user-agents-.*\.tgz$' | sed 's/^/list: /'
cargo run --release --quiet --example bot_filter -- "$dir/bots.txt" "$dir/humans.txt"
