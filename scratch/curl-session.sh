#!/usr/bin/env bash
# A whole Streamable HTTP session with nothing but curl:
# initialize, notifications/initialized, tools/list, echo,
# longRunningOperation with progress, DELETE.
#
# Usage: scratch/curl-session.sh [BASE_URL] [TOKEN]     (default http://localhost:3232)
#   TOKEN defaults to $MCP_TOKEN; when there is one, every request carries
#   Authorization: Bearer <token>. The server needs one unless it runs with AUTH_MODE=none:
#   get it with scratch/oauth.sh, whose last line is `export MCP_TOKEN=…`:
#     eval "$(scratch/oauth.sh | grep '^export MCP_TOKEN=')"
#     scratch/curl-session.sh
# Needs: curl. Prints every request and the raw answer (an event stream, or one JSON object).
# Set KEEP=1 to skip the DELETE (then watch the session with scratch/watch-redis.sh).
# Set VERSION=2025-06-18 to speak an older protocol: a lone answer then comes as one JSON object.
set -euo pipefail

BASE="${1:-http://localhost:3232}"
BASE="${BASE%/}"
MCP="$BASE/mcp"
TOKEN="${2:-${MCP_TOKEN:-}}"
VERSION="${VERSION:-2025-11-25}"

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT

step() { printf '\n=== %s\n' "$*"; }

# What every request carries: curl quiet but for errors, and the token when there is one.
common=(-sS)
if [[ -n "$TOKEN" ]]; then
  common+=(-H "Authorization: Bearer $TOKEN")
  echo "token: ${TOKEN:0:16}… (sent as Authorization: Bearer)"
else
  echo "no token (MCP_TOKEN unset, no second argument): only a server with AUTH_MODE=none will answer"
fi

# post BODY: POST one JSON-RPC message to /mcp with the session headers once we have them.
post() {
  local args=("${common[@]}" -N -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
  if [[ -n "${SESSION:-}" ]]; then
    args+=(-H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: $VERSION")
  fi
  printf '> POST %s %s\n' "$MCP" "$1"
  curl "${args[@]}" -D "$headers" "$MCP" --data-binary "$1"
  echo
  printf '< %s\n' "$(head -n1 "$headers" | tr -d '\r')"
}

step "initialize"
post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$VERSION"'","capabilities":{},"clientInfo":{"name":"curl-session","version":"1.0.0"}}}'
SESSION=$(awk 'tolower($1) == "mcp-session-id:" { print $2 }' "$headers" | tr -d '\r')
if [[ -z "$SESSION" ]]; then
  echo "no Mcp-Session-Id in the initialize response" >&2
  if head -n1 "$headers" | grep -q ' 401'; then
    if [[ -n "$TOKEN" ]]; then
      echo "the token was refused (expired, revoked, or issued by a server with another BASE_URI): get a fresh one with scratch/oauth.sh" >&2
    else
      echo "the server wants a token: run scratch/oauth.sh, then the 'export MCP_TOKEN=…' line it ends with, or pass the token as the second argument" >&2
    fi
  fi
  exit 1
fi
echo "session: $SESSION"

step "notifications/initialized (expect 202, no body)"
post '{"jsonrpc":"2.0","method":"notifications/initialized"}'

step "tools/list"
post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'

step "tools/call echo"
post '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello from curl"}}}'

step "tools/call longRunningOperation (3 s, 3 steps): progress and log notifications arrive on this request's stream"
post '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"longRunningOperation","arguments":{"duration":3,"steps":3},"_meta":{"progressToken":"curl-progress"}}}'

if [[ -n "${KEEP:-}" ]]; then
  step "KEEP set: session $SESSION left open (it expires after SESSION_IDLE_TIMEOUT_S without traffic)"
  exit 0
fi

step "DELETE (expect 200)"
printf '> DELETE %s\n' "$MCP"
curl "${common[@]}" -o /dev/null -w '< HTTP %{http_code}\n' -X DELETE -H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: $VERSION" "$MCP"

step "the deleted session is gone (expect 404)"
post '{"jsonrpc":"2.0","id":5,"method":"ping"}'
echo
