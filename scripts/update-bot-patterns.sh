#!/usr/bin/env bash
# Refreshes src/ingest/enrich/bot-patterns/ from the npm package isbot: its `list` export is a
# maintained list of user-agent patterns of crawlers and tools (public domain, the Unlicense,
# kept beside it). Usage: scripts/update-bot-patterns.sh [VERSION]   (default: latest)
# Then run the tests (`cargo test useragent`) and bench/bots.sh, and commit the three files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/ingest/enrich/bot-patterns
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && npm pack "isbot@${1:-latest}" --silent >/dev/null && tar xzf isbot-*.tgz)
version="$(node -p "require('$dir/package/package.json').version")"
node -e "process.stdout.write(require('$dir/package').list.join('\n') + '\n')" >"$out/patterns.txt"
cp "$dir/package/LICENSE" "$out/LICENSE"
printf 'isbot %s (npm), its `list` export, one pattern per line (JavaScript regular expressions,\nmatched case-insensitively); refreshed by scripts/update-bot-patterns.sh\n' "$version" >"$out/SOURCE"
echo "$(wc -l <"$out/patterns.txt") patterns from isbot $version"
