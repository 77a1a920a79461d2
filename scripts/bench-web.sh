#!/usr/bin/env bash
# Load benchmark of the web site (issue 14), on loopback only, bounded in time.
#
#   cargo build --release -p detdex && bash scripts/bench-web.sh
#
# Serves the five corpora of ../shared/corpora with target/release/detdex on 127.0.0.1, then
# with wrk (Debian package `wrk`; `ab` from apache2-utils gives the same figures):
#   1. /search?q=powershell, 8 clients;
#   2. rule pages, 64 clients, over 1,000 different rules (each page visited once before, as
#      an analyst's team would: the first view of a page makes it, ~1 ms, later ones are
#      served from memory);
#   3. the same rule pages while 8 other clients keep searching;
#   4. and 5. the same as 1 and 3 with every search new to the server (`&n=COUNTER` makes each
#      URL unique; the server ignores `n`), so each one is ranked by the store rather than
#      served from the site's cache of answered searches.
# Each run lasts DURATION seconds (default 15); the server is stopped at the end. The load
# average is printed before each run: the figures only compare at a similar load.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/detdex}
CORPORA=${CORPORA:-../shared/corpora}
PORT=${PORT:-18480}
DURATION=${DURATION:-15}
ADDR=127.0.0.1:$PORT
BASE=http://$ADDR
TMP=$(mktemp -d)

"$BIN" serve --addr "$ADDR" \
  --source "sigma=$CORPORA/sigma" --source "mdecrevoisier=$CORPORA/mdecrevoisier" \
  --source "splunk=$CORPORA/splunk" --source "elastic=$CORPORA/elastic" \
  --source "falconfriday=$CORPORA/falconfriday" 2>"$TMP/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 300); do
  curl -sf -o /dev/null "$BASE/static/style.css" && break
  sleep 1
done
curl -sf -o /dev/null "$BASE/static/style.css" || { cat "$TMP/serve.log"; exit 1; }
grep -h "detdex:" "$TMP/serve.log"

# 1,000 rule pages, each visited once.
curl -sf "$BASE/api/rules?limit=1000" | jq -r '.[].key' | python3 -c '
import sys, urllib.parse
for k in sys.stdin.read().split("\n"):
    if k:
        print("/rules/" + "/".join(urllib.parse.quote(s, safe="") for s in k.split("/")))
' > "$TMP/paths"
echo "rule pages: $(wc -l < "$TMP/paths"), first visit of each:"
/usr/bin/time -f "  %e s for all" xargs -a "$TMP/paths" -I{} curl -sf -o /dev/null "$BASE{}"

cat > "$TMP/pages.lua" <<LUA
local paths = {}
for line in io.lines("$TMP/paths") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

cat > "$TMP/fresh.lua" <<LUA
-- Each wrk process names its runs (its first script argument), each thread its requests.
local threads = 0
function init(args)
  run = args[1] or "a"
end
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/search?q=powershell&n=" .. run .. id .. "-" .. n)
end
LUA

run() { # name, clients, extra wrk args...
  local name=$1 clients=$2
  shift 2
  echo "== $name ($clients clients, ${DURATION} s; $(uptime | sed 's/.*load/load/'))"
  timeout $((DURATION + 30)) wrk -t2 -c"$clients" -d"${DURATION}s" --timeout 5s --latency "$@" \
    | grep -E "Requests/sec|Latency +[0-9]|^ +(50|90|99)%|Non-2xx|Socket errors|requests in"
}

run "search /search?q=powershell" 8 "$BASE/search?q=powershell"
run "rule pages" 64 -s "$TMP/pages.lua" "$BASE/"
timeout $((DURATION + 40)) wrk -t1 -c8 -d"$((DURATION + 10))s" --timeout 5s "$BASE/search?q=powershell" \
  > "$TMP/search-load.txt" &
LOAD=$!
sleep 3
run "rule pages while 8 clients search" 64 -s "$TMP/pages.lua" "$BASE/"
wait $LOAD || true
echo "== the 8 searching clients meanwhile"
grep -E "Requests/sec|Latency +[0-9]" "$TMP/search-load.txt"

run "search, every one new to the server" 8 -s "$TMP/fresh.lua" "$BASE/" -- a
timeout $((DURATION + 40)) wrk -t1 -c8 -d"$((DURATION + 10))s" --timeout 5s -s "$TMP/fresh.lua" \
  "$BASE/" -- b > "$TMP/search-load.txt" &
LOAD=$!
sleep 3
run "rule pages while 8 clients make new searches" 64 -s "$TMP/pages.lua" "$BASE/"
wait $LOAD || true
echo "== the 8 clients making new searches meanwhile"
grep -E "Requests/sec|Latency +[0-9]" "$TMP/search-load.txt"
