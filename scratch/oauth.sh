#!/usr/bin/env bash
# The whole OAuth 2.1 flow against a running server (AUTH_MODE=internal), with curl:
# discovery → registration → /authorize → consent → fake IdP → callback → /token
# → an authenticated MCP session → refresh (rotation) → /revoke → refresh-token reuse,
# and last a fresh grant whose access token is left valid (1 h) for you. Its last line is
#
#   export MCP_TOKEN=mcp_at_…
#
# To take the token into your shell, and use it:
#   eval "$(scratch/oauth.sh | grep '^export MCP_TOKEN=')"
#   scratch/curl-session.sh                      # sends Authorization: Bearer $MCP_TOKEN
#   curl -H "Authorization: Bearer $MCP_TOKEN" …
#
# Usage: scratch/oauth.sh [BASE_URL] [USER_ID]
#   BASE_URL defaults to http://localhost:3232: where the server answers. The resource that tokens
#            are bound to is read from its metadata (<BASE_URI>/mcp).
#   USER_ID  defaults to a random one: who you claim to be at the fake IdP.
# Needs: curl, openssl, sed, grep, awk. Nothing listens on the client's redirect URI:
# the script reads the code from the Location header instead of following it.
set -euo pipefail

BASE="${1:-http://localhost:3232}"
BASE="${BASE%/}"
USER_ID="${2:-curl-user-$(openssl rand -hex 4)}"
REDIRECT_URI="http://127.0.0.1:9/callback"
VERSION="2025-11-25"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n=== %s\n' "$*"; }
# json FIELD < body: one string (or number) field of a flat JSON object.
json() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -n1; }
# header NAME < headers file
header() { awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" 'tolower($1) == n":" { sub(/^[^:]*: */, ""); print }' | tr -d '\r' | head -n1; }
# query NAME URL: one query parameter of a URL, percent-decoded enough for our values.
query() { printf '%s\n' "$2" | sed -n "s/.*[?&]$1=\\([^&]*\\).*/\\1/p" | sed 's/%2F/\//g; s/%3A/:/g; s/%20/ /g'; }
status() { head -n1 "$1" | tr -d '\r'; }
urlencode() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | sed 's/\(..\)/%\1/g'; }
die() { printf '\n%s\n' "$*" >&2; exit 1; }
# pkce: a fresh verifier and its S256 challenge, for each authorization request.
pkce() {
  VERIFIER=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n' | cut -c1-64)
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 | tr '+/' '-_' | tr -d '=\n')
}

step "1. /mcp without a token: 401 and the challenge naming the resource metadata"
curl -sS -o /dev/null -D "$work/h" -X POST "$BASE/mcp" -H 'Content-Type: application/json' -d '{}' \
  || die "no server answers at $BASE (start one with: npm start)"
status "$work/h"; header WWW-Authenticate < "$work/h"

step "2. Protected resource metadata (RFC 9728) and authorization server metadata (RFC 8414)"
curl -sS "$BASE/.well-known/oauth-protected-resource/mcp" > "$work/resource"
cat "$work/resource"; echo
RESOURCE=$(json resource < "$work/resource")
[[ -n "$RESOURCE" ]] || die "no protected resource metadata at $BASE: is the server running with AUTH_MODE=internal?"
echo "resource (every token's audience): $RESOURCE"
[[ "$RESOURCE" == "$BASE/mcp" ]] \
  || echo "note: the server's BASE_URI is ${RESOURCE%/mcp}: OAuth clients must use $RESOURCE (a token works at any of its addresses)"
curl -sS "$BASE/.well-known/oauth-authorization-server"; echo

step "3. Dynamic client registration (RFC 7591): a public client"
curl -sS -o "$work/client" -X POST "$BASE/register" -H 'Content-Type: application/json' \
  -d '{"client_name":"curl walkthrough","redirect_uris":["'"$REDIRECT_URI"'"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}'
cat "$work/client"; echo
CLIENT_ID=$(json client_id < "$work/client")
[[ -n "$CLIENT_ID" ]] || die "registration failed (above)"

step "4. PKCE (S256): verifier and challenge"
pkce
STATE=$(openssl rand -hex 8)
echo "verifier=$VERIFIER"; echo "challenge=$CHALLENGE"; echo "state=$STATE"

step "5. GET /authorize: the consent page (client name and redirect URI)"
AUTHORIZE="$BASE/authorize?response_type=code&client_id=$CLIENT_ID&redirect_uri=$(urlencode "$REDIRECT_URI")&code_challenge=$CHALLENGE&code_challenge_method=S256&state=$STATE&scope=mcp&resource=$(urlencode "$RESOURCE")"
curl -sS -o "$work/consent.html" -D "$work/h" "$AUTHORIZE"
status "$work/h"
grep -o '<strong id="client-name">[^<]*</strong>\|<code id="redirect-uri">[^<]*</code>' "$work/consent.html"
PENDING=$(sed -n 's/.*name="pending" value="\([^"]*\)".*/\1/p' "$work/consent.html")

step "6. POST /consent (approve): on to the fake upstream IdP; the cookie binds the request to this \"browser\""
curl -sS -o /dev/null -D "$work/h" -c "$work/cookies" -X POST "$BASE/consent" --data-urlencode "pending=$PENDING" -d decision=approve
status "$work/h"
IDP=$(header Location < "$work/h"); echo "Location: $IDP"

step "7. The fake IdP's page: it mints an upstream code for this state"
curl -sS -o "$work/idp.html" -D "$work/h" "$BASE$IDP"
status "$work/h"
UPSTREAM_STATE=$(sed -n 's/.*name="state" value="\([^"]*\)".*/\1/p' "$work/idp.html")
UPSTREAM_CODE=$(sed -n 's/.*name="code" value="\([^"]*\)".*/\1/p' "$work/idp.html")
echo "upstream code=$UPSTREAM_CODE"

step "8. The IdP callback, as the page's form (or any script) calls it, as user $USER_ID, with the consent cookie"
curl -sS -o /dev/null -D "$work/h" -b "$work/cookies" -G "$BASE/fakeupstreamauth/callback" \
  --data-urlencode "state=$UPSTREAM_STATE" --data-urlencode "code=$UPSTREAM_CODE" --data-urlencode "userId=$USER_ID"
status "$work/h"
LOCATION=$(header Location < "$work/h"); echo "Location: $LOCATION"
CODE=$(query code "$LOCATION")
[[ "$(query state "$LOCATION")" == "$STATE" ]] && echo "state matches"
echo "iss=$(query iss "$LOCATION")"

step "8b. The same callback again: refused (single use)"
curl -sS -b "$work/cookies" -G "$BASE/fakeupstreamauth/callback" \
  --data-urlencode "state=$UPSTREAM_STATE" --data-urlencode "code=$UPSTREAM_CODE" --data-urlencode "userId=$USER_ID"; echo

step "9. POST /token (authorization_code): the same redirect_uri, the verifier, the resource"
curl -sS -o "$work/tokens" -X POST "$BASE/token" \
  -d grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "code_verifier=$VERIFIER" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "resource=$RESOURCE"
cat "$work/tokens"; echo
ACCESS=$(json access_token < "$work/tokens")
REFRESH=$(json refresh_token < "$work/tokens")

step "9b. The same code again: invalid_grant, and the tokens it gave are revoked"
curl -sS -X POST "$BASE/token" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "client_id=$CLIENT_ID"; echo
curl -sS -o /dev/null -w '/mcp with the revoked token: %{http_code}\n' -X POST "$BASE/mcp" -H "Authorization: Bearer $ACCESS" \
  -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{}'

step "10. A fresh authorization (steps 4-9 again, quietly): a new grant"
# authorize: a whole authorization code flow for $USER_ID; sets ACCESS and REFRESH.
authorize() {
  pkce
  STATE=$(openssl rand -hex 8)
  AUTHORIZE="$BASE/authorize?response_type=code&client_id=$CLIENT_ID&redirect_uri=$(urlencode "$REDIRECT_URI")&code_challenge=$CHALLENGE&code_challenge_method=S256&state=$STATE&resource=$(urlencode "$RESOURCE")"
  PENDING=$(curl -sS "$AUTHORIZE" | sed -n 's/.*name="pending" value="\([^"]*\)".*/\1/p')
  IDP=$(curl -sS -o /dev/null -D - -c "$work/cookies" -b "$work/cookies" -X POST "$BASE/consent" --data-urlencode "pending=$PENDING" -d decision=approve | header Location)
  curl -sS "$BASE$IDP" > "$work/idp.html"
  LOCATION=$(curl -sS -o /dev/null -D - -b "$work/cookies" -G "$BASE/fakeupstreamauth/callback" \
    --data-urlencode "state=$(sed -n 's/.*name="state" value="\([^"]*\)".*/\1/p' "$work/idp.html")" \
    --data-urlencode "code=$(sed -n 's/.*name="code" value="\([^"]*\)".*/\1/p' "$work/idp.html")" \
    --data-urlencode "userId=$USER_ID" | header Location)
  curl -sS -o "$work/tokens" -X POST "$BASE/token" -d grant_type=authorization_code \
    --data-urlencode "code=$(query code "$LOCATION")" --data-urlencode "code_verifier=$VERIFIER" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "client_id=$CLIENT_ID"
  ACCESS=$(json access_token < "$work/tokens")
  REFRESH=$(json refresh_token < "$work/tokens")
  [[ -n "$ACCESS" ]] || die "the authorization failed: $(cat "$work/tokens")"
}
authorize
echo "access token: ${ACCESS:0:16}…"

step "11. An MCP session with the token: initialize, then echo"
mcp() {
  curl -sS -N -D "$work/h" "$BASE/mcp" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' ${SESSION:+-H "Mcp-Session-Id: $SESSION"} \
    ${SESSION:+-H "MCP-Protocol-Version: $VERSION"} -d "$2"
  echo; status "$work/h"
}
SESSION=""
mcp "$ACCESS" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$VERSION"'","capabilities":{},"clientInfo":{"name":"oauth.sh","version":"1"}}}'
SESSION=$(header Mcp-Session-Id < "$work/h"); echo "session: $SESSION"
mcp "$ACCESS" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
mcp "$ACCESS" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello with a token"}}}'

step "12. POST /token (refresh_token): rotation; the session stays the same user's"
OLD_REFRESH="$REFRESH"
curl -sS -o "$work/tokens" -X POST "$BASE/token" -d grant_type=refresh_token \
  --data-urlencode "refresh_token=$REFRESH" --data-urlencode "client_id=$CLIENT_ID"
cat "$work/tokens"; echo
ACCESS=$(json access_token < "$work/tokens")
REFRESH=$(json refresh_token < "$work/tokens")
mcp "$ACCESS" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"same session, new token"}}}'

step "13. POST /revoke the access token (RFC 7009): /mcp answers 401"
curl -sS -D "$work/h" -X POST "$BASE/revoke" --data-urlencode "token=$ACCESS" -d token_type_hint=access_token --data-urlencode "client_id=$CLIENT_ID"; echo
status "$work/h"
mcp "$ACCESS" '{"jsonrpc":"2.0","id":4,"method":"ping"}'

step "14. Reusing the rotated refresh token: invalid_grant, and the whole grant is revoked"
curl -sS -X POST "$BASE/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$OLD_REFRESH" --data-urlencode "client_id=$CLIENT_ID"; echo
curl -sS -X POST "$BASE/token" -d grant_type=refresh_token --data-urlencode "refresh_token=$REFRESH" --data-urlencode "client_id=$CLIENT_ID"; echo

step "15. Another fresh grant for the same user: the session belongs to the user, not to a grant"
authorize
echo "access token: ${ACCESS:0:16}…"
mcp "$ACCESS" '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"same session, another grant"}}}'
curl -sS -o /dev/null -w 'DELETE the session: %{http_code}\n' -X DELETE "$BASE/mcp" -H "Authorization: Bearer $ACCESS" \
  -H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: $VERSION"

step "done: this grant's access token is yours, valid for 1 h (user $USER_ID)"
echo "# Refresh it (the refresh token rotates at each use):"
echo "#   curl -sS -X POST $BASE/token -d grant_type=refresh_token -d client_id=$CLIENT_ID -d refresh_token=$REFRESH"
echo "# Run the line below in your shell, or next time: eval \"\$(scratch/oauth.sh | grep '^export MCP_TOKEN=')\""
echo "export MCP_TOKEN=$ACCESS"
