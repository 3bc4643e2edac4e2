#!/usr/bin/env bash
# Runs the official MCP conformance suite (server mode, revision 2025-11-25) against
# two Redis-backed instances: a proxy sends each `initialize` to instance A and
# everything else to instance B, so every session is owned by A and served
# through B. Fails on any failing or warning check, scored or not.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONFORMANCE=node_modules/@modelcontextprotocol/conformance/dist/index.js
[ -f "$CONFORMANCE" ] || { echo "conformance package missing: run npm ci"; exit 1; }
[ -f dist/index.js ] || npm run build

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

start_instance() {
  local port=$1
  REDIS_URL="redis://127.0.0.1:$redis_port" REQUEST_STATE_KEY="conformance-request-state-key-32-bytes-long" PORT="$port" HOST=127.0.0.1 AUTH_MODE=none LOG_LEVEL=warn \
    node dist/index.js >"/tmp/conformance-instance-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.1; done
  echo "instance on port $port did not start"; cat "/tmp/conformance-instance-$port.log"; exit 1
}

owner_port=$(free_port); start_instance "$owner_port"
edge_port=$(free_port); start_instance "$edge_port"
proxy_port=$(free_port)
node test/conformance/initialize-splitter.js "$proxy_port" "http://127.0.0.1:$owner_port" "http://127.0.0.1:$edge_port" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$proxy_port/" && break; sleep 0.1; done

url="http://localhost:$proxy_port/mcp"
log=$(mktemp)
status=0
# The required set of 2025-11-25; it also runs json-schema-2020-12 and server-sse-polling (not scored there).
npx -y -p node@22 node "$CONFORMANCE" server --url "$url" --requirements 2025-11-25 | tee "$log" || status=$?
# And the two pending scenarios on their own, so that their verdict is explicit.
for scenario in json-schema-2020-12 server-sse-polling; do
  npx -y -p node@22 node "$CONFORMANCE" server --url "$url" --scenario "$scenario" --verbose >>"$log" 2>&1 || status=$?
done

summary=$(sed -n '/=== SUMMARY ===/,$p' "$log")
if grep -q '✗' <<<"$summary"; then status=1; fi
if grep -q '"status": "WARNING"\|"status": "FAILURE"' "$log"; then
  echo "conformance: warnings or failures in the verbose scenario output:"
  grep -B2 '"status": "WARNING"\|"status": "FAILURE"' "$log" | head -40
  status=1
fi
echo "conformance: $(grep -c '^✓' <<<"$summary") scenario results passed, $(grep -c '^✗' <<<"$summary" || true) failed"
rm -f "$log"
exit "$status"
