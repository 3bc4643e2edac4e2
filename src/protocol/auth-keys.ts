/**
 * Redis key and channel names of the authorization server, the fake IdP and the
 * rate limits: a public contract, listed with their TTLs in docs/redis.md and
 * docs/oauth.md. `{hash}` is always the SHA-256 (hex) of a secret: no token,
 * code, client secret or request id is ever stored in clear.
 */
export const authKeys = {
  /** → JSON client record (RFC 7591 metadata; the secret only as a hash). */
  client: (clientId: string) => `mcp:auth:client:${clientId}`,
  /** → JSON pending authorization: an /authorize request waiting for consent and the IdP. */
  pending: (hash: string) => `mcp:auth:pending:${hash}`,
  /** Set (NX) when the IdP callback completes the pending authorization: once only. */
  pendingUsed: (hash: string) => `mcp:auth:pending:${hash}:used`,
  /** → JSON code issued by the fake upstream IdP, bound to the state it was issued for. */
  upstreamCode: (hash: string) => `mcp:auth:upstream:${hash}`,
  /** Set (NX) when the upstream code is redeemed: once only. */
  upstreamCodeUsed: (hash: string) => `mcp:auth:upstream:${hash}:used`,
  /** → JSON authorization code record. */
  code: (hash: string) => `mcp:auth:code:${hash}`,
  /** → id of the grant the code was exchanged for; a replay revokes that grant. */
  codeUsed: (hash: string) => `mcp:auth:code:${hash}:used`,
  /** → JSON access token record. */
  accessToken: (hash: string) => `mcp:auth:access:${hash}`,
  /** → JSON refresh token record. */
  refreshToken: (hash: string) => `mcp:auth:refresh:${hash}`,
  /** Set (NX) when the refresh token is rotated; a second use revokes the grant. */
  refreshUsed: (hash: string) => `mcp:auth:refresh:${hash}:used`,
  /** → JSON grant (token family): every token of one authorization lives while this key does. */
  grant: (grantId: string) => `mcp:auth:grant:${grantId}`,
};

/** Revocations of access tokens and grants, so that every instance drops them from its cache at once. */
export const REVOCATIONS_CHANNEL = 'mcp:auth:revocations';

/**
 * Prefix of one rate limit's counters: `mcp:ratelimit:{name}:{client ip}` for the OAuth endpoints;
 * the /mcp limits add the window's start (epoch ms): `mcp:ratelimit:mcp:{ip}:{window}` and
 * `mcp:ratelimit:mcp-user:{userId}:{window}`.
 */
export const rateLimitPrefix = (name: string) => `mcp:ratelimit:${name}:`;
