import type { RequestHandler } from 'express';
import { markRefused } from '../../observability/http-metrics.js';
import { rateLimit, type AugmentedRequest, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { sendLimitExceeded } from '../../http/errors.js';
import { LimitExceeded, type LimitScope } from '../../limits/limit-exceeded.js';
import type { Runtime } from '../../session/runtime.js';
import { principalOf } from '../principal.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import { StoreUnavailableError } from '../store-errors.js';
import { rateLimitPrefix } from '../store-keys.js';
import { ReservationStore } from './reservation-store.js';

export interface Limiters {
  register: RequestHandler;
  authorize: RequestHandler;
  token: RequestHandler;
  revoke: RequestHandler;
  idp: RequestHandler;
  /** /mcp, /sse and /message, per client IP. */
  mcp: RequestHandler;
  /** The same per user: needs res.locals.principal, so it runs after authentication. */
  mcpUser: RequestHandler;
}

const unlimited: RequestHandler = (_req, _res, next) => next();

/** A reservation that Redis does not answer within this long fails, and the store counts locally. */
const RESERVATION_TIMEOUT_MS = 1000;

/** The MCP limits: per minute, named by their setting in the 429. */
const MCP_LIMITS = {
  address: { name: 'mcp', setting: 'RATE_LIMIT_MCP_PER_MINUTE', what: 'requests per minute to /mcp, /sse and /message from this address' },
  user: { name: 'mcp-user', setting: 'RATE_LIMIT_MCP_PER_USER_PER_MINUTE', what: 'requests per minute to /mcp, /sse and /message for this user' },
} as const;

/** Seconds until the refused request's window ends (at least 1). */
function retryAfterS(req: AugmentedRequest): number {
  const reset = req.rateLimit?.resetTime?.getTime();
  return reset === undefined ? 1 : Math.max(1, Math.ceil((reset - Date.now()) / 1000));
}

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
 * and IdP endpoints (one script per request; they are not hot), quota
 * reservations for /mcp (ReservationStore: no command per request). /mcp also
 * has a per-user limit, keyed by the authenticated principal. Embedded:
 * express-rate-limit's memory store. A limit of 0 turns the limiter off.
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
      handler: (_req, res) => {
        markRefused(res, `RATE_LIMIT_${name.toUpperCase()}`);
        sendOAuthError(res, 429, 'too_many_requests', `Rate limit exceeded for ${name}; retry after the Retry-After delay`);
      },
    });
  };

  const reservations = redis?.withCommandOptions({ timeout: RESERVATION_TIMEOUT_MS });
  const mcpLimiter = (scope: Extract<LimitScope, 'address' | 'user'>, limit: number, keyGenerator?: Options['keyGenerator']): RequestHandler => {
    if (limit === 0) return unlimited;
    const { name, setting, what } = MCP_LIMITS[scope];
    return rateLimit({
      ...common,
      windowMs: 60_000,
      limit,
      keyGenerator,
      store: reservations ? new ReservationStore(reservations, rateLimitPrefix(name), rt.logger) : undefined,
      handler: (req, res) => sendLimitExceeded(res, new LimitExceeded(setting, limit, scope, what, retryAfterS(req as AugmentedRequest))),
    });
  };

  return {
    register: oauthLimiter('register', limits.register),
    authorize: oauthLimiter('authorize', limits.authorize),
    token: oauthLimiter('token', limits.token),
    revoke: oauthLimiter('revoke', limits.revoke),
    idp: oauthLimiter('idp', limits.idp),
    mcp: mcpLimiter('address', limits.mcpPerMinute),
    mcpUser: mcpLimiter('user', limits.mcpPerUserPerMinute, (_req, res) => principalOf(res).userId),
  };
}
