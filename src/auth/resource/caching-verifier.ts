import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { sha256 } from '../crypto.js';
import type { RevocationFeed } from '../revocations.js';
import type { TokenLookup, TokenLookupResult } from '../token-lookup.js';
import { TokenCache } from './token-cache.js';

export interface CachingVerifierOptions {
  /** Longest a verification result is trusted without asking again. */
  maxAgeMs: number;
  maxEntries: number;
  /** When given, results are cached only while it is subscribed, and its revocations evict at once. */
  revocations?: RevocationFeed;
}

const INVALID = 'The access token is invalid, expired or revoked';

/**
 * Verifies bearer tokens for the resource server. A token is looked up once
 * (store or introspection), then served from an in-process LRU until
 * min(its expiry, maxAgeMs): in the steady state a request costs no Redis
 * command and no network call. Revocations published by any instance evict
 * matching entries everywhere at once. Concurrent lookups of one token share
 * one call.
 */
export class CachingVerifier implements OAuthTokenVerifier {
  private readonly cache: TokenCache<TokenLookupResult>;
  /** Refusals get their own, smaller LRU, so that a spray of junk tokens cannot push out valid ones. */
  private readonly refused: TokenCache<TokenLookupResult>;
  /** Bumped by every revocation: a lookup that overlapped one is not cached (it may predate it). */
  private generation = 0;
  private readonly inFlight = new Map<string, Promise<TokenLookupResult>>();

  constructor(
    private readonly lookup: TokenLookup,
    private readonly options: CachingVerifierOptions,
  ) {
    this.cache = new TokenCache(options.maxEntries);
    this.refused = new TokenCache(Math.max(100, Math.floor(options.maxEntries / 10)));
    options.revocations?.onRevocation((revocation) => {
      this.generation++;
      if (revocation.type === 'grant') this.cache.evictWhere((r) => r.active && r.grantId === revocation.grantId);
      else this.cache.evictWhere((r) => r.active && r.tokenId === revocation.tokenId);
    });
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const result = await this.resolve(token);
    if (!result.active) throw new InvalidTokenError(INVALID);
    return {
      token,
      clientId: result.clientId,
      scopes: result.scopes,
      expiresAt: result.expiresAt,
      resource: result.resource ? safeUrl(result.resource) : undefined,
      extra: { userId: result.userId },
    };
  }

  private async resolve(token: string): Promise<TokenLookupResult> {
    const key = sha256(token);
    const cached = this.cache.get(key) ?? this.refused.get(key);
    if (cached) {
      if (cached.active && cached.expiresAt * 1000 <= Date.now()) return { active: false };
      return cached;
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const cacheable = this.options.revocations ? this.options.revocations.active : true;
    const generation = this.generation;
    const lookup = (async () => {
      const result = await this.lookup.lookup(token);
      if (cacheable && generation === this.generation) {
        const now = Date.now();
        if (result.active) this.cache.set(key, result, Math.min(result.expiresAt * 1000, now + this.options.maxAgeMs));
        else this.refused.set(key, result, now + this.options.maxAgeMs);
      }
      return result;
    })();
    this.inFlight.set(key, lookup);
    try {
      return await lookup;
    } finally {
      this.inFlight.delete(key);
    }
  }
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
