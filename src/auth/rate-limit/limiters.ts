import type { Request, RequestHandler } from 'express';
import type { OAuthRateLimit } from '../../config.js';
import { markRefused } from '../../observability/http-metrics.js';
import { rateLimit, type AugmentedRequest, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { LimitExceeded, type LimitScope } from '../../limits/limit-exceeded.js';
import type { AuthDeps } from '../index.js';
import { principalOf } from '../principal.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import { StoreUnavailableError } from '../store-errors.js';
import { rateLimitPrefix } from '../../protocol/auth-keys.js';
import { ReservationStore } from './reservation-store.js';
import type { RedisClient, RedisClusterClient, RedisNodeClient } from '../../store/redis-connections.js';

export interface Limiters {
  register: RequestHandler;
  authorize: RequestHandler;
  token: RequestHandler;
  revoke: RequestHandler;
  idp: RequestHandler;
  /** /mcp, /sse, /message (and the "my sessions" data), per client IP. */
  mcp: RequestHandler;
  /** The same per user: needs res.locals.principal, so it runs after authentication. */
  mcpUser: RequestHandler;
}

const unlimited: RequestHandler = (_req, _res, next) => next();

/** A reservation that Redis does not answer within this long fails, and the store counts locally. */
const RESERVATION_TIMEOUT_MS = 1000;

/** The MCP limits: per minute, named by their setting in the 429. */
const MCP_LIMITS = {
  address: { name: 'mcp', setting: 'RATE_LIMIT_MCP_PER_MINUTE', what: 'requests per minute to /mcp, /sse, /message and /my from this address' },
  user: { name: 'mcp-user', setting: 'RATE_LIMIT_MCP_PER_USER_PER_MINUTE', what: 'requests per minute to /mcp, /sse, /message and /my for this user' },
} as const;

/** 127.0.0.0/8 (also IPv4-mapped: ::ffff:127.…) and ::1. */
const LOOPBACK_PEER = /^(?:::ffff:)?127(?:\.\d{1,3}){3}$|^::1$/i;

/**
 * A request from this machine: its socket's peer is a loopback address, and it names no
 * forwarded client (a proxy on the same host usually does: its requests stay counted).
 */
export function fromLoopback(req: Request): boolean {
  const peer = req.socket.remoteAddress;
  if (peer === undefined || !LOOPBACK_PEER.test(peer)) return false;
  const headers = req.headers;
  return headers['x-forwarded-for'] === undefined && headers.forwarded === undefined && headers['x-real-ip'] === undefined;
}

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

  constructor(redis: RedisClient, topology: 'node' | 'cluster', prefix: string) {
    // On a cluster, rate-limit-redis names each command's key so that node-redis routes it to its slot.
    this.inner =
      topology === 'node'
        ? new RedisStore({ sendCommand: (...args: string[]) => (redis as RedisNodeClient).sendCommand(args) as Promise<RedisReply>, prefix })
        : new RedisStore({
            sendCommandCluster: ({ key, isReadOnly, command }) =>
              (redis as RedisClusterClient).sendCommand(key, isReadOnly, command) as Promise<RedisReply>,
            prefix,
          });
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
 * express-rate-limit's memory store. A limit of 0 turns the limiter off. An
 * OAuth or IdP limit whose variable is unset, without TRUST_PROXY, skips requests
 * from this machine (fromLoopback): local scripts and clients register, authorize
 * and fetch tokens as often as they like, strangers are counted as ever.
 */
export function createLimiters(deps: AuthDeps, options: { oauth: boolean }): Limiters {
  const { config, store, logger } = deps;
  const limits = config.rateLimits;
  const redis = store.redis;

  const common: Partial<Options> = {
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // We ignore X-Forwarded-For unless TRUST_PROXY says otherwise; no need to warn about it.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
  };

  const oauthLimiter = (name: OAuthRateLimit, limit: number): RequestHandler => {
    if (limit === 0 || !options.oauth) return unlimited;
    const setting = `RATE_LIMIT_${name.toUpperCase()}`;
    return rateLimit({
      ...common,
      windowMs: limits.windowMs,
      limit,
      skip: config.oauthLimitsSkipLoopback[name] ? fromLoopback : undefined,
      store: redis ? new GuardedRedisStore(redis, store.topology ?? 'node', rateLimitPrefix(name)) : undefined,
      passOnStoreError: false,
      handler: (_req, res) => {
        markRefused(res, setting);
        sendOAuthError(
          res,
          429,
          'too_many_requests',
          `Rate limit exceeded for ${name} (${setting}: ${limit} per ${limits.windowMs / 1000} s per address); retry after the Retry-After delay`,
        );
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
      store: reservations ? new ReservationStore(reservations, rateLimitPrefix(name), logger) : undefined,
      // The refusal is raised, and answered where every error body is written.
      handler: (req, _res, next) => next(new LimitExceeded(setting, limit, scope, what, retryAfterS(req as AugmentedRequest))),
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
