#!/usr/bin/env bash
# Runs the official MCP conformance suite (server mode) for both protocol eras
# against two Redis-backed instances behind a round-robin proxy: each request
# goes to the other instance, so sessions, input_required rounds and listen
# streams all cross Redis. Fails on any failing or warning check, scored or
# not (the 2026-07-28 tasks extension and pending scenarios included).
# CONFORMANCE_REDIS=cluster runs the instances on a private Redis Cluster
# (3 masters, 3 replicas) instead of one node.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONFORMANCE=node_modules/@modelcontextprotocol/conformance/dist/index.js
[ -f "$CONFORMANCE" ] || { echo "conformance package missing: run npm ci"; exit 1; }
[ -f dist/main.js ] || npm run build

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

if [ "${CONFORMANCE_REDIS:-node}" = cluster ]; then
  nodes_file=$(mktemp)
  node test/conformance/private-cluster.js >"$nodes_file" &
  pids+=($!)
  for _ in $(seq 300); do [ -s "$nodes_file" ] && break; sleep 0.1; done
  [ -s "$nodes_file" ] || { echo "the private Redis Cluster did not start"; exit 1; }
  redis_env=(REDIS_CLUSTER_NODES="$(head -n1 "$nodes_file")")
  echo "conformance: on a Redis Cluster (${redis_env[0]})"
else
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis_env=(REDIS_URL="redis://127.0.0.1:$redis_port")
fi

start_instance() {
  local port=$1
  env "${redis_env[@]}" REQUEST_STATE_KEY="conformance-request-state-key-32-bytes-long" \
    PORT="$port" HOST=127.0.0.1 AUTH_MODE=none LOG_LEVEL=warn \
    node dist/main.js >"/tmp/conformance-instance-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.1; done
  echo "instance on port $port did not start"; cat "/tmp/conformance-instance-$port.log"; exit 1
}

a_port=$(free_port); start_instance "$a_port"
b_port=$(free_port); start_instance "$b_port"
proxy_port=$(free_port)
node test/conformance/round-robin-proxy.js "$proxy_port" "http://127.0.0.1:$a_port" "http://127.0.0.1:$b_port" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$proxy_port/" && break; sleep 0.1; done

url="http://localhost:$proxy_port/mcp"
conformance() { npx -y -p node@22 node "$CONFORMANCE" server --url "$url" "$@"; }
status=0
failed=0
passed=0

# One run: its summary's failed lines, and every WARNING or FAILURE of a verbose scenario run.
check_run() {
  local log=$1
  local summary
  summary=$(sed -n '/=== SUMMARY ===/,$p' "$log")
  if [ -z "$summary" ]; then echo "conformance: a run ended without its summary"; status=1; return; fi
  passed=$((passed + $(grep -c '^✓' <<<"$summary" || true)))
  local bad
  bad=$(grep '^✗' <<<"$summary" || true)
  if [ -n "$bad" ]; then echo "conformance: failed:"; echo "$bad"; status=1; failed=$((failed + $(grep -c . <<<"$bad"))); fi
  if grep -q '"status": "WARNING"\|"status": "FAILURE"' "$log"; then
    echo "conformance: warnings or failures in the verbose scenario output:"
    grep -B2 '"status": "WARNING"\|"status": "FAILURE"' "$log" | head -40
    status=1
  fi
}

# 2025-11-25 (sessions): the required set, then its two pending scenarios on their own.
log=$(mktemp)
conformance --requirements 2025-11-25 | tee "$log" || true
for scenario in json-schema-2020-12 server-sse-polling; do
  conformance --scenario "$scenario" --verbose >>"$log" 2>&1 || true
done
check_run "$log"

# 2026-07-28 (stateless): the required set with its unscored extension and pending scenarios.
log2=$(mktemp)
conformance --requirements 2026-07-28 | tee "$log2" || true
check_run "$log2"

echo "conformance: $passed scenario results passed, $failed failed"
rm -f "$log" "$log2"
exit "$status"
