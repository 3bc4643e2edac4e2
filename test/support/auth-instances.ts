/**
 * App instances with the OAuth authorization server on (AUTH_MODE=internal).
 * BASE_URI is the issuer and names the resource, so an instance must know its
 * public URL before it listens: each gets a free port picked in advance. Instances
 * of one deployment (the multi-instance suites) share one BASE_URI, as they would
 * behind a load balancer; rate limits and per-user budgets are raised so that
 * suites, which share the run's Redis and reuse user names, never meet them
 * (the rate-limit and abuse tests set their own).
 */
import type { RunningServer } from '../../src/server.js';
import { startInstance } from './instances.js';
import { freePort } from './redis-server.js';

export const HIGH_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_REGISTER: '100000',
  RATE_LIMIT_AUTHORIZE: '100000',
  RATE_LIMIT_TOKEN: '100000',
  RATE_LIMIT_REVOKE: '100000',
  RATE_LIMIT_IDP: '100000',
  RATE_LIMIT_MCP_PER_MINUTE: '100000',
  RATE_LIMIT_MCP_PER_USER_PER_MINUTE: '100000',
};

/** Per-user budgets counted across the run's shared Redis: out of the way unless a suite tests them. */
const ROOMY_BUDGETS: Record<string, string> = { MAX_SESSIONS_PER_USER: '100000' };

export interface AuthDeployment {
  /** The public URL (BASE_URI): issuer, and the resource is `${baseUri}/mcp`. */
  baseUri: string;
  servers: RunningServer[];
  urls: string[];
  stop(): Promise<void>;
}

/** The run's private Redis Cluster, as startAuthDeployment takes a Redis. */
export const TEST_CLUSTER = 'cluster';

/**
 * One deployment: `count` instances sharing BASE_URI (the first instance's own
 * URL), on Redis when `redisUrl` is given (TEST_CLUSTER: the run's Redis
 * Cluster), else a single embedded instance.
 */
export async function startAuthDeployment(
  redisUrl: string | undefined,
  count = redisUrl ? 2 : 1,
  overrides: Record<string, string> = {},
): Promise<AuthDeployment> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const baseUri = `http://127.0.0.1:${ports[0]}`;
  const servers: RunningServer[] = [];
  try {
    for (const port of ports) {
      const cluster = redisUrl === TEST_CLUSTER;
      servers.push(
        await startInstance(cluster ? undefined : redisUrl, {
          ...(cluster && { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES! }),
          AUTH_MODE: 'internal',
          BASE_URI: baseUri,
          PORT: String(port),
          ...HIGH_RATE_LIMITS,
          ...ROOMY_BUDGETS,
          ...overrides,
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return {
    baseUri,
    servers,
    urls: servers.map((s) => s.url),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

export type AuthBackendCase = [name: string, start: () => Promise<AuthDeployment>];

/** Embedded (one instance), Redis and Redis Cluster (two instances of one deployment, sharing the run's Redis or cluster). */
export function authBackendCases(overrides: Record<string, string> = {}): AuthBackendCase[] {
  return [
    ['embedded in-memory, one instance', () => startAuthDeployment(undefined, 1, overrides)],
    ['Redis, two instances', () => startAuthDeployment(process.env.TEST_REDIS_URL!, 2, overrides)],
    ['Redis Cluster, two instances', () => startAuthDeployment(TEST_CLUSTER, 2, overrides)],
  ];
}

/** A suite's deployment: its public URL `base`, and its first and last instance `A` and `B` (one and the same when embedded). */
export interface AuthSuite {
  deployment: AuthDeployment;
  base: string;
  A: string;
  B: string;
}

/**
 * Starts a deployment before the enclosing describe's tests and stops it after
 * them. The object is filled in by beforeAll: read it only in tests and hooks.
 */
export function authDeploymentForSuite(start: AuthBackendCase[1]): AuthSuite {
  const suite = {} as AuthSuite;
  beforeAll(async () => {
    const deployment = await start();
    Object.assign(suite, { deployment, base: deployment.baseUri, A: deployment.urls[0]!, B: deployment.urls[deployment.urls.length - 1]! });
  });
  afterAll(async () => {
    await suite.deployment?.stop();
  });
  return suite;
}
