#!/usr/bin/env bash
# Shows one session in Redis: its keys with their TTLs, its owner's lease, who
# listens on its channels; then prints every message of the session, both
# directions, until Ctrl-C (and the keys once more on the way out).
#
# A session's channels are sharded and one per request stream, which no pattern
# can follow: the script asks the session's owner to copy every message to
# mcp:tap:{<id>} (a `tap` control message, renewed every 5 s, as the "my
# sessions" page does) and listens there with SSUBSCRIBE.
#
# Usage: scratch/watch-redis.sh <session-id> [REDIS_URL]
#        REDIS_URL defaults to $REDIS_URL, then redis://127.0.0.1:6379.
# Needs: redis-cli. It writes nothing but the tap requests (SPUBLISH on mcp:control:{<id>}).
set -euo pipefail

SID="${1:-}"
URL="${2:-${REDIS_URL:-redis://127.0.0.1:6379}}"
if [[ ! "$SID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]; then
  echo "usage: $0 <session-id (a UUID)> [REDIS_URL]" >&2
  exit 2
fi
T="{$SID}" # the session's hash tag: every key and channel of the session carries it

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
  for key in "session:$T:owner" "mcp:session:$T:meta" "mcp:session:$T:instance" "mcp:session:$T:standalone"; do
    printf '%-64s ttl %-12s %s\n' "$key" "$(ttl "$key")" "$(cli GET "$key")"
  done
  for key in "mcp:session:$T:state" "mcp:session:$T:events"; do
    printf '%-64s ttl %s\n' "$key" "$(ttl "$key")"
  done

  local owner
  owner=$(cli GET "mcp:session:$T:instance")
  if [[ -n "$owner" ]]; then
    echo "== owner instance $owner"
    printf '%-64s ttl %s\n' "mcp:instance:$owner:lease" "$(ttl "mcp:instance:$owner:lease")"
  fi

  echo "== listeners (subscriber connections per channel)"
  cli PUBSUB SHARDNUMSUB "mcp:shttp:toserver:$T" "mcp:control:$T" "mcp:sse:toclient:$T" "mcp:shttp:toclient:$T:__GET_stream" | paste -d' ' - -
  echo "request streams open on some instance:"
  cli PUBSUB SHARDCHANNELS "mcp:shttp:toclient:$T:*" | sed 's/^/  /'
}

show_keys

# Keep the owner copying the session's messages while we watch (it promises 15 s at a time).
(while true; do
  cli SPUBLISH "mcp:control:$T" "{\"v\":1,\"type\":\"tap\",\"untilMs\":$(( $(date +%s) * 1000 + 15000 ))}" > /dev/null
  sleep 5
done) &
renewer=$!
trap 'kill $renewer 2>/dev/null; echo; show_keys; exit 0' INT TERM

# redis-cli prints each reply element on its own line; fold every smessage into one line: the copy
# says the direction and the channel it crossed, then the envelope.
echo "== messages of the session (Ctrl-C to stop)"
# Only the tap channel: listening on the session's own channels would count as a receiver there.
cli SSUBSCRIBE "mcp:tap:$T" | awk '
  $0 == "smessage" { n = 2; next }
  n == 2 { n = 1; next }                       # the channel: mcp:tap:{<id>}
  n == 1 { n = 0; print $0; fflush() }
' &
wait $!
