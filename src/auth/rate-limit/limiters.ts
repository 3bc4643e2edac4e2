import type { RequestHandler } from 'express';
import { rateLimit, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { sendJsonRpcError } from '../../http/errors.js';
import type { Runtime } from '../../session/runtime.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import { StoreUnavailableError } from '../store-errors.js';
import { rateLimitPrefix } from '../store-keys.js';
import { BatchedRedisStore } from './batched-redis-store.js';

export interface Limiters {
  register: RequestHandler;
  authorize: RequestHandler;
  token: RequestHandler;
  revoke: RequestHandler;
  idp: RequestHandler;
  /** /mcp, /sse and /message. */
  mcp: RequestHandler;
}

const unlimited: RequestHandler = (_req, _res, next) => next();

/** rate-limit-redis, with its failures turned into StoreUnavailableError (503 from the auth router). */
class GuardedRedisStore implements Store {
  private readonly inner: RedisStore;
  private options: Options | undefined;
  readonly prefix: string;
  readonly localKeys = false;

  constructor(sendCommand: (...args: string[]) => Promise<RedisReply>, prefix: string) {
    this.inner = new RedisStore({ sendCommand, prefix });
    this.prefix = prefix;
  }

  init(options: Options): void {
    this.options = options;
    void this.inner.init(options).catch(() => undefined);
  }

  async increment(key: string) {
    try {
      return await this.inner.increment(key);
    } catch (error) {
      // rate-limit-redis keeps a failed script load forever; load again for the next request.
      if (this.options) void this.inner.init(this.options).catch(() => undefined);
      throw new StoreUnavailableError(error);
    }
  }

  async decrement(key: string) {
    await this.inner.decrement(key).catch(() => undefined);
  }

  async resetKey(key: string) {
    await this.inner.resetKey(key).catch(() => undefined);
  }
}

/**
 * The rate limits, per client IP (req.ip: the socket's address unless
 * TRUST_PROXY is set, so a forged X-Forwarded-For changes nothing). With
 * Redis every limit is shared by all instances: rate-limit-redis for the OAuth
 * and IdP endpoints (one script per request; they are not hot), a batching
 * store for /mcp (no command per request). Embedded: express-rate-limit's
 * memory store. A limit of 0 turns the limiter off.
 */
export function createLimiters(rt: Runtime, options: { oauth: boolean }): Limiters {
  const { config, backend } = rt;
  const limits = config.rateLimits;
  const redis = backend.kind === 'redis' ? backend.redis : undefined;
  const sendCommand = redis ? (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply> : undefined;

  const common: Partial<Options> = {
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // We ignore X-Forwarded-For unless TRUST_PROXY says otherwise; no need to warn about it.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
  };

  const oauthLimiter = (name: string, limit: number): RequestHandler => {
    if (limit === 0 || !options.oauth) return unlimited;
    return rateLimit({
      ...common,
      windowMs: limits.windowMs,
      limit,
      store: sendCommand ? new GuardedRedisStore(sendCommand, rateLimitPrefix(name)) : undefined,
      passOnStoreError: false,
      handler: (_req, res) => sendOAuthError(res, 429, 'too_many_requests', `Rate limit exceeded for ${name}; retry after the Retry-After delay`),
    });
  };

  let mcp: RequestHandler = unlimited;
  if (limits.mcpPerMinute > 0) {
    mcp = rateLimit({
      ...common,
      windowMs: 60_000,
      limit: limits.mcpPerMinute,
      store: redis ? new BatchedRedisStore(redis, rateLimitPrefix('mcp'), rt.logger) : undefined,
      handler: (_req, res) => sendJsonRpcError(res, 429, -32000, 'Too many requests: rate limit exceeded; retry after the Retry-After delay'),
    });
  }

  return {
    register: oauthLimiter('register', limits.register),
    authorize: oauthLimiter('authorize', limits.authorize),
    token: oauthLimiter('token', limits.token),
    revoke: oauthLimiter('revoke', limits.revoke),
    idp: oauthLimiter('idp', limits.idp),
    mcp,
  };
}
