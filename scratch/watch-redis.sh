#!/usr/bin/env bash
# Shows one session in Redis: its keys with their TTLs, its owner's lease, who
# listens on its channels; then prints every message on its channels until Ctrl-C
# (and the keys once more on the way out).
#
# Usage: scratch/watch-redis.sh <session-id> [REDIS_URL]
#        REDIS_URL defaults to $REDIS_URL, then redis://127.0.0.1:6379.
# Needs: redis-cli. Read-only: it runs GET, PTTL, SCAN, PUBSUB and PSUBSCRIBE only.
set -euo pipefail

SID="${1:-}"
URL="${2:-${REDIS_URL:-redis://127.0.0.1:6379}}"
if [[ ! "$SID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]; then
  echo "usage: $0 <session-id (a UUID)> [REDIS_URL]" >&2
  exit 2
fi

cli() { redis-cli -u "$URL" --no-auth-warning "$@"; }

# ttl KEY: the key's remaining TTL, readable.
ttl() {
  local ms
  ms=$(cli PTTL "$1")
  case "$ms" in
    -2) echo "missing" ;;
    -1) echo "no TTL (unexpected: every key here has one)" ;;
    *) echo "${ms} ms" ;;
  esac
}

show_keys() {
  echo "== keys of session $SID ($(date +%T))"
  local key
  for key in "session:$SID:owner" "mcp:session:$SID:meta" "mcp:session:$SID:standalone"; do
    printf '%-60s ttl %-12s %s\n' "$key" "$(ttl "$key")" "$(cli GET "$key")"
  done
  local others
  others=$(cli --scan --pattern "*$SID*" | grep -vxF -e "session:$SID:owner" -e "mcp:session:$SID:meta" -e "mcp:session:$SID:standalone" || true)
  [[ -n "$others" ]] && printf 'other keys naming the session:\n%s\n' "$others"

  local owner
  owner=$(cli GET "mcp:session:$SID:meta" | sed -n 's/.*"instanceId":"\([^"]*\)".*/\1/p')
  if [[ -n "$owner" ]]; then
    echo "== owner instance $owner"
    printf '%-60s ttl %s\n' "mcp:instance:$owner:lease" "$(ttl "mcp:instance:$owner:lease")"
  fi

  echo "== listeners (subscriber connections per channel; patterns are counted once, server-wide)"
  cli PUBSUB NUMSUB "mcp:shttp:toserver:$SID" "mcp:control:$SID" "mcp:sse:toclient:$SID" | paste -d' ' - -
  echo "PUBSUB NUMPAT $(cli PUBSUB NUMPAT)"
}

show_keys
trap 'echo; show_keys; exit 0' INT TERM

# One pattern covers every channel of the session:
#   mcp:shttp:toserver:<id>, mcp:shttp:toclient:<id>:<streamKey>,
#   mcp:control:<id>, mcp:sse:toclient:<id>
# redis-cli prints each reply element on its own line; fold every pmessage into one line.
echo "== messages on mcp:*:$SID* (Ctrl-C to stop)"
cli PSUBSCRIBE "mcp:*:$SID*" | awk '
  $0 == "pmessage" { n = 3; next }
  n == 3 { n = 2; next }                       # the pattern
  n == 2 { channel = $0; n = 1; next }
  n == 1 { n = 0; print channel; print "  " $0; fflush() }
' &
wait $!
