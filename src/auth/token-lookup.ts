/**
 * The contract between the resource server (/mcp, /sse, /message) and whoever
 * vouches for tokens: our own authorization server in-process (AUTH_MODE=internal)
 * or an external one through RFC 7662 introspection (AUTH_MODE=external). Shaped
 * like an introspection response.
 */
export type TokenLookupResult =
  | { active: false }
  | {
      active: true;
      userId: string;
      clientId: string;
      scopes: string[];
      /** Epoch seconds. */
      expiresAt: number;
      /** RFC 8707 audience the token was issued for, when it names ours (or the first one). */
      resource: string | undefined;
      /** Set by our own authorization server: what a revocation message names. */
      tokenId?: string;
      grantId?: string;
    };

export interface TokenLookup {
  lookup(token: string): Promise<TokenLookupResult>;
}

/** The authority could not be asked (store down, introspection endpoint unreachable): 503, not 401. */
export class AuthUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthUnavailableError';
  }
}
