import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Parses a comma-separated list; empty entries are dropped. */
const csv = z
  .string()
  .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean));

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

const positiveInt = z.coerce.number().int().positive();
/** A count where 0 means "off" (rate limits, budgets). */
const countOrOff = z.coerce.number().int().min(0);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3232),
  HOST: z.string().min(1).default('0.0.0.0'),
  BASE_URI: z.url({ protocol: /^https?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_CLUSTER_NODES: csv.pipe(z.array(z.url({ protocol: /^rediss?$/ })).min(1)).optional(),
  AUTH_MODE: z.enum(['internal', 'none', 'external']).default('internal'),
  AUTH_SERVER_URL: z.url({ protocol: /^https?$/ }).optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  SESSION_IDLE_TIMEOUT_S: positiveInt.default(1800),
  SESSION_EVICT_AFTER_S: positiveInt.default(120),
  REQUEST_TIMEOUT_S: positiveInt.default(180),
  INSTANCE_LEASE_TTL_MS: positiveInt.min(1000).default(10000),
  INSTANCE_HEARTBEAT_MS: positiveInt.min(100).default(1000),
  RESOURCE_UPDATE_INTERVAL_MS: positiveInt.default(10000),
  SUBSCRIPTION_GRACE_MS: z.coerce.number().int().min(0).default(2000),
  ALLOWED_ORIGINS: csv.optional(),
  ALLOWED_HOSTS: csv.optional(),
  TRUST_PROXY: z.string().optional(),
  MAX_BODY_BYTES: positiveInt.default(4 * 1024 * 1024),
  SHUTDOWN_GRACE_MS: positiveInt.default(10000),
  JSON_LOGS: booleanFlag.optional(),
  AUTH_INTROSPECTION_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_INTROSPECTION_CLIENT_ID: z.string().min(1).max(512).optional(),
  AUTH_INTROSPECTION_CLIENT_SECRET: z.string().min(1).max(1024).optional(),
  AUTH_INTROSPECTION_CACHE_S: positiveInt.max(300).default(10),
  RATE_LIMIT_WINDOW_S: positiveInt.default(900),
  // Left unset, the OAuth and IdP limits take their defaults and do not count loopback clients.
  RATE_LIMIT_REGISTER: countOrOff.optional(),
  RATE_LIMIT_AUTHORIZE: countOrOff.optional(),
  RATE_LIMIT_TOKEN: countOrOff.optional(),
  RATE_LIMIT_REVOKE: countOrOff.optional(),
  RATE_LIMIT_IDP: countOrOff.optional(),
  RATE_LIMIT_MCP_PER_MINUTE: countOrOff.optional(),
  RATE_LIMIT_MCP_PER_USER_PER_MINUTE: countOrOff.optional(),
  // Budgets: what one client may make an instance hold (docs/operations.md, "Limits").
  STREAM_BUFFER_MAX_BYTES: positiveInt.min(64 * 1024).default(1024 * 1024),
  STREAM_LINGER_S: positiveInt.default(30),
  MAX_STREAMS_PER_USER: countOrOff.optional(),
  MAX_STREAMS_PER_INSTANCE: countOrOff.default(10_000),
  MAX_SESSIONS_PER_USER: countOrOff.optional(),
  MAX_SESSIONS_PER_INSTANCE: countOrOff.default(10_000),
  MAX_INFLIGHT_PER_SESSION: countOrOff.default(100),
  MAX_INFLIGHT_PER_USER: countOrOff.optional(),
  MAX_INFLIGHT_PER_INSTANCE: countOrOff.default(5000),
  MAX_SUBSCRIPTIONS_PER_USER: countOrOff.optional(),
  MAX_SUBSCRIPTIONS_PER_INSTANCE: countOrOff.default(10_000),
  MAX_TASKS_PER_USER: countOrOff.default(1000),
  MAX_RUNNING_TASKS_PER_INSTANCE: countOrOff.default(1000),
  MAX_INIT_PARAMS_BYTES: positiveInt.min(512).default(8192),
  MAX_ID_LENGTH: positiveInt.min(16).max(1024).default(256),
  EVENT_LOG_MAX_EVENTS: positiveInt.min(10).default(1000),
  EVENT_LOG_MAX_BYTES: positiveInt.min(4096).default(256 * 1024),
  HEADERS_TIMEOUT_S: positiveInt.default(20),
  BODY_TIMEOUT_S: positiveInt.default(30),
  MAX_CONNECTIONS_PER_IP: countOrOff.optional(),
  MAX_CONNECTIONS: countOrOff.default(10_000),
  SHED_HEAP_PERCENT: z.coerce.number().min(0).max(100).default(85),
  SHED_RSS_MB: countOrOff.default(0),
  MAX_LISTEN_STREAMS_PER_USER: countOrOff.optional(),
  MAX_LISTEN_STREAMS_PER_INSTANCE: countOrOff.default(20_000),
  // The 2026-07-28 era: the key that seals multi round-trip state, shared by every instance.
  REQUEST_STATE_KEY: z.string().refine((key) => Buffer.byteLength(key) >= 32, 'must be at least 32 bytes').optional(),
  REQUEST_STATE_KEY_PREVIOUS: z.string().refine((key) => Buffer.byteLength(key) >= 32, 'must be at least 32 bytes').optional(),
  REQUEST_STATE_TTL_S: positiveInt.max(86_400).default(600),
  // The "my sessions" page: how long a browser stays signed in (a sealed cookie; REQUEST_STATE_KEY derives its key).
  BROWSER_SESSION_TTL_S: positiveInt.min(60).max(86_400).default(3600),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export interface Config {
  port: number;
  host: string;
  baseUri: string;
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); the topology is discovered from them. */
  redisClusterNodes: string[] | undefined;
  authMode: 'internal' | 'none' | 'external';
  authServerUrl: string | undefined;
  logLevel: string;
  sessionIdleTimeoutMs: number;
  /** An idle session's Server leaves memory after this; its state stays in the store. */
  sessionEvictAfterMs: number;
  requestTimeoutMs: number;
  instanceLeaseTtlMs: number;
  /** How often an instance renews its lease (at most a third of its TTL); a killed one is noticed after about two. */
  instanceHeartbeatMs: number;
  subscriptionGraceMs: number;
  /** Period of notifications/resources/updated for subscribed resources. */
  resourceUpdateIntervalMs: number;
  /** Origins allowed to call us; entries may end in ':*' for any port; '*' allows all. */
  allowedOrigins: string[];
  /** Host names (optionally host:port) we answer to; '*' allows all. */
  allowedHosts: string[];
  /** Value for express' 'trust proxy' setting, or false when unset. */
  trustProxy: boolean | number | string;
  maxBodyBytes: number;
  shutdownGraceMs: number;
  jsonLogs: boolean;
  /** AUTH_MODE=external: where and how tokens are introspected (RFC 7662). */
  introspection: {
    /** Explicit endpoint; otherwise discovered from AUTH_SERVER_URL's RFC 8414 metadata. */
    url: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    cacheMs: number;
  };
  /** Requests per client IP; 0 = no limit. The OAuth and IdP limits share one window. */
  rateLimits: {
    windowMs: number;
    register: number;
    authorize: number;
    token: number;
    revoke: number;
    idp: number;
    /** /mcp, /sse and /message, per minute. */
    mcpPerMinute: number;
    /** The same, per user (all the user's addresses together), per minute. */
    mcpPerUserPerMinute: number;
  };
  /**
   * The OAuth and IdP limits that leave clients on this machine alone: each one whose variable
   * is unset, while TRUST_PROXY is unset and BASE_URI is a loopback URL (a local deployment). Such a limit skips requests whose socket peer is a
   * loopback address and that name no forwarded client (X-Forwarded-For, Forwarded, X-Real-IP).
   */
  oauthLimitsSkipLoopback: Record<OAuthRateLimit, boolean>;
  /** What one client may make the service hold; 0 turns a count off. */
  limits: Limits;
  /** Prometheus exposition: its own listener (port, address), and/or GET /metrics on the public port with a token. */
  metrics: { port: number | undefined; host: string; token: string | undefined };
  /** How long a browser signed in to the "my sessions" page stays signed in. */
  browserSessionTtlS: number;
  /** The stateless 2026-07-28 era. */
  modern: {
    /** Seals requestState; every instance must share it (generated per process in embedded mode). */
    requestStateKey: string;
    /** The key before a rotation: still accepted for state sealed with it. */
    requestStatePreviousKey: string | undefined;
    requestStateTtlS: number;
  };
}

/** The rate limits of the OAuth and IdP endpoints, per client address and window. */
export type OAuthRateLimit = 'register' | 'authorize' | 'token' | 'revoke' | 'idp';

/** Budgets (docs/operations.md, "Limits"): every one has a setting and a clear error past it. */
export interface Limits {
  /** Bytes a stream may hold that its client has not read; past them the stream is cut. */
  streamBufferBytes: number;
  /** How long an ended stream may wait for its client to read what it still holds; then it is dropped. */
  streamLingerMs: number;
  /** Open event streams (request, standalone, legacy) per user on one instance. */
  streamsPerUser: number;
  /** Open event streams on one instance. */
  streamsPerInstance: number;
  /** Live sessions per user, all instances together. */
  sessionsPerUser: number;
  /** Sessions held in one instance's memory. */
  sessionsPerInstance: number;
  /** Requests being served at once in one session. */
  inflightPerSession: number;
  /** Requests being served at once for one user, on the instance running them. */
  inflightPerUser: number;
  /** Requests being served at once on one instance. */
  inflightPerInstance: number;
  /** Resource subscriptions per user over the sessions one instance runs, and per instance (each one is reported every tick). */
  subscriptionsPerUser: number;
  subscriptionsPerInstance: number;
  /** Task records (any status, until they expire) per user; counts with AUTH_MODE=none too (one shared user). */
  tasksPerUser: number;
  /** Tasks running at once on one instance (a task's tool runs after its call was answered). */
  runningTasksPerInstance: number;
  /** Serialized size of initialize's params (capabilities, clientInfo), which the session stores. */
  initParamsBytes: number;
  /** Characters of a request id or progress token. */
  idLength: number;
  /** A session's event log: its newest events, by count and by bytes. */
  eventLogEvents: number;
  eventLogBytes: number;
  /** Time to receive a request's headers, and the whole request (body included). */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Open TCP connections per client address (the socket's peer), and per instance. */
  connectionsPerIp: number;
  connections: number;
  /** Above this share of the V8 heap limit (percent) or this RSS (bytes), new work is refused (503). */
  shedHeapPercent: number;
  shedRssBytes: number;
  /** Open subscriptions/listen streams (2026-07-28) per user and per instance. */
  listenStreamsPerUser: number;
  listenStreamsPerInstance: number;
}

const LOOPBACK_ISSUER_HOSTS = new Set(['localhost', '127.0.0.1']);

export class ConfigError extends Error {}

/** express' 'trust proxy' accepts a boolean, a hop count or a list of addresses. */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

function defaultOrigins(baseUri: URL): string[] {
  return [baseUri.origin, 'http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];
}

function defaultHosts(baseUri: URL): string[] {
  return [baseUri.hostname, 'localhost', '127.0.0.1', '[::1]'];
}

/** Reads and validates every setting once; throws ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in EnvSchema.shape && value !== ''),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.AUTH_MODE === 'external' && !e.AUTH_SERVER_URL) {
    throw new ConfigError('Invalid configuration: AUTH_SERVER_URL: required when AUTH_MODE=external');
  }
  if (e.AUTH_MODE === 'external' && !(e.AUTH_INTROSPECTION_CLIENT_ID && e.AUTH_INTROSPECTION_CLIENT_SECRET)) {
    const missing = e.AUTH_INTROSPECTION_CLIENT_ID ? 'AUTH_INTROSPECTION_CLIENT_SECRET' : 'AUTH_INTROSPECTION_CLIENT_ID';
    throw new ConfigError(`Invalid configuration: ${missing}: required when AUTH_MODE=external`);
  }
  const baseUri = new URL(e.BASE_URI ?? `http://localhost:${e.PORT}`);
  if (e.AUTH_MODE === 'internal') {
    // BASE_URI is the issuer (RFC 8414 §2): https, no query or fragment. The path
    // must be empty, because the well-known documents are served at the root.
    if (baseUri.protocol !== 'https:' && !LOOPBACK_ISSUER_HOSTS.has(baseUri.hostname)) {
      throw new ConfigError('Invalid configuration: BASE_URI: must be https when AUTH_MODE=internal (http only for localhost or 127.0.0.1)');
    }
    if (baseUri.search || baseUri.hash || baseUri.pathname.replace(/\/$/, '') !== '') {
      throw new ConfigError('Invalid configuration: BASE_URI: must be an origin without path, query or fragment when AUTH_MODE=internal');
    }
  }
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError('Invalid configuration: REDIS_CLUSTER_NODES: set either REDIS_URL (one node) or REDIS_CLUSTER_NODES (a cluster), not both');
  }
  if ((e.REDIS_URL || e.REDIS_CLUSTER_NODES) && !e.REQUEST_STATE_KEY) {
    const which = e.REDIS_URL ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES';
    throw new ConfigError(
      `Invalid configuration: REQUEST_STATE_KEY: required when ${which} is set (at least 32 bytes, the same on every instance)`,
    );
  }
  const perUser = (count: number) => (e.AUTH_MODE === 'none' ? 0 : count);
  // Behind no proxy, a loopback peer is this machine: a developer's scripts, the Inspector, tests.
  // Only a deployment on this machine (a loopback BASE_URI, no proxy) leaves its own clients alone:
  // a public one behind a proxy that sends no forwarding header would otherwise count nobody.
  const localDeployment = LOOPBACK_ISSUER_HOSTS.has(baseUri.hostname) && parseTrustProxy(e.TRUST_PROXY) === false;
  const skipLoopback = (value: number | undefined) => value === undefined && localDeployment;
  return {
    port: e.PORT,
    host: e.HOST,
    baseUri: baseUri.origin + baseUri.pathname.replace(/\/$/, ''),
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    authMode: e.AUTH_MODE,
    authServerUrl: e.AUTH_SERVER_URL,
    logLevel: e.LOG_LEVEL,
    sessionIdleTimeoutMs: e.SESSION_IDLE_TIMEOUT_S * 1000,
    sessionEvictAfterMs: e.SESSION_EVICT_AFTER_S * 1000,
    requestTimeoutMs: e.REQUEST_TIMEOUT_S * 1000,
    instanceLeaseTtlMs: e.INSTANCE_LEASE_TTL_MS,
    instanceHeartbeatMs: Math.min(e.INSTANCE_HEARTBEAT_MS, Math.floor(e.INSTANCE_LEASE_TTL_MS / 3)),
    subscriptionGraceMs: e.SUBSCRIPTION_GRACE_MS,
    resourceUpdateIntervalMs: e.RESOURCE_UPDATE_INTERVAL_MS,
    allowedOrigins: e.ALLOWED_ORIGINS ?? defaultOrigins(baseUri),
    allowedHosts: e.ALLOWED_HOSTS ?? defaultHosts(baseUri),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    maxBodyBytes: e.MAX_BODY_BYTES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    jsonLogs: e.JSON_LOGS ?? true,
    introspection: {
      url: e.AUTH_INTROSPECTION_URL,
      clientId: e.AUTH_INTROSPECTION_CLIENT_ID,
      clientSecret: e.AUTH_INTROSPECTION_CLIENT_SECRET,
      cacheMs: e.AUTH_INTROSPECTION_CACHE_S * 1000,
    },
    rateLimits: {
      windowMs: e.RATE_LIMIT_WINDOW_S * 1000,
      register: e.RATE_LIMIT_REGISTER ?? 20,
      authorize: e.RATE_LIMIT_AUTHORIZE ?? 100,
      token: e.RATE_LIMIT_TOKEN ?? 50,
      revoke: e.RATE_LIMIT_REVOKE ?? 50,
      idp: e.RATE_LIMIT_IDP ?? 100,
      // AUTH_MODE=none serves local runs and benchmarks: no /mcp limit unless asked for.
      mcpPerMinute: e.RATE_LIMIT_MCP_PER_MINUTE ?? (e.AUTH_MODE === 'none' ? 0 : 1200),
      mcpPerUserPerMinute: e.RATE_LIMIT_MCP_PER_USER_PER_MINUTE ?? perUser(1200),
    },
    oauthLimitsSkipLoopback: {
      register: skipLoopback(e.RATE_LIMIT_REGISTER),
      authorize: skipLoopback(e.RATE_LIMIT_AUTHORIZE),
      token: skipLoopback(e.RATE_LIMIT_TOKEN),
      revoke: skipLoopback(e.RATE_LIMIT_REVOKE),
      idp: skipLoopback(e.RATE_LIMIT_IDP),
    },
    limits: {
      streamBufferBytes: e.STREAM_BUFFER_MAX_BYTES,
      streamLingerMs: e.STREAM_LINGER_S * 1000,
      // Per-user budgets are off by default with AUTH_MODE=none: everyone is one user there, so
      // they would be global limits (local runs and benchmarks). Set them to count anyway.
      streamsPerUser: e.MAX_STREAMS_PER_USER ?? perUser(100),
      streamsPerInstance: e.MAX_STREAMS_PER_INSTANCE,
      sessionsPerUser: e.MAX_SESSIONS_PER_USER ?? perUser(100),
      sessionsPerInstance: e.MAX_SESSIONS_PER_INSTANCE,
      inflightPerSession: e.MAX_INFLIGHT_PER_SESSION,
      inflightPerUser: e.MAX_INFLIGHT_PER_USER ?? perUser(200),
      inflightPerInstance: e.MAX_INFLIGHT_PER_INSTANCE,
      subscriptionsPerUser: e.MAX_SUBSCRIPTIONS_PER_USER ?? perUser(1000),
      subscriptionsPerInstance: e.MAX_SUBSCRIPTIONS_PER_INSTANCE,
      tasksPerUser: e.MAX_TASKS_PER_USER,
      runningTasksPerInstance: e.MAX_RUNNING_TASKS_PER_INSTANCE,
      initParamsBytes: e.MAX_INIT_PARAMS_BYTES,
      idLength: e.MAX_ID_LENGTH,
      eventLogEvents: e.EVENT_LOG_MAX_EVENTS,
      eventLogBytes: e.EVENT_LOG_MAX_BYTES,
      headersTimeoutMs: e.HEADERS_TIMEOUT_S * 1000,
      bodyTimeoutMs: e.BODY_TIMEOUT_S * 1000,
      // Behind a proxy every connection comes from the proxy: counting per peer would throttle everyone.
      connectionsPerIp: e.MAX_CONNECTIONS_PER_IP ?? (parseTrustProxy(e.TRUST_PROXY) === false ? 256 : 0),
      connections: e.MAX_CONNECTIONS,
      shedHeapPercent: e.SHED_HEAP_PERCENT,
      shedRssBytes: e.SHED_RSS_MB * 1024 * 1024,
      listenStreamsPerUser: e.MAX_LISTEN_STREAMS_PER_USER ?? perUser(20),
      listenStreamsPerInstance: e.MAX_LISTEN_STREAMS_PER_INSTANCE,
    },
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST, token: e.METRICS_TOKEN },
    browserSessionTtlS: e.BROWSER_SESSION_TTL_S,
    modern: {
      // Embedded mode is one process: a key of its own serves every round of a flow.
      requestStateKey: e.REQUEST_STATE_KEY ?? randomBytes(32).toString('base64url'),
      requestStatePreviousKey: e.REQUEST_STATE_KEY_PREVIOUS,
      requestStateTtlS: e.REQUEST_STATE_TTL_S,
    },
  };
}
