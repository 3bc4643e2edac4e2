/** Lifetimes of what the authorization server issues and stores (seconds). */
export const ACCESS_TOKEN_TTL_S = 3600;
/** Sliding: each rotation issues a refresh token good for this long and extends the grant. */
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
export const AUTHORIZATION_CODE_TTL_S = 60;
/** How long a used code is remembered, so that a replay still revokes what it issued. */
export const USED_CODE_TTL_S = 3600;
/** From /authorize to the IdP callback. */
export const PENDING_AUTHORIZATION_TTL_S = 600;
export const UPSTREAM_CODE_TTL_S = 300;
/** Registered clients (and confidential clients' secrets) expire after this long. */
export const CLIENT_TTL_S = 30 * 24 * 3600;

/** Scopes this server knows; a request without scope gets all of them. */
export const SUPPORTED_SCOPES = ['mcp'] as const;

/** In-process cache of verified access tokens (AUTH_MODE=internal). */
export const TOKEN_CACHE_MAX_AGE_MS = 30_000;
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;
