import type { RunningServer } from '../../src/server.js';
import { startInstance } from './instances.js';

export type BackendCase = [name: string, start: () => Promise<RunningServer[]>];

/**
 * The backends every behavioural suite runs on: the embedded in-memory mode
 * (one instance), Redis with two instances sharing the run's private Redis, and
 * the same on the run's private Redis Cluster; on Redis, sessions are created on
 * the first instance and driven through the second.
 */
export function backendCases(env: Record<string, string> = {}): BackendCase[] {
  return [
    ['embedded in-memory, one instance', async () => [await startInstance(undefined, env)]],
    [
      'Redis, two instances',
      async () => {
        const url = process.env.TEST_REDIS_URL!;
        return Promise.all([startInstance(url, env), startInstance(url, env)]);
      },
    ],
    [
      'Redis Cluster, two instances',
      async () => {
        const cluster = { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES!, ...env };
        return Promise.all([startInstance(undefined, cluster), startInstance(undefined, cluster)]);
      },
    ],
  ];
}

/** The running instances of one backend case; `first` and `second` are the same instance when embedded. */
export interface BackendInstances {
  all: RunningServer[];
  /** Where the suites create sessions (their owner). */
  first: RunningServer;
  /** Where the suites drive them: the other instance on Redis. */
  second: RunningServer;
}

/**
 * Starts a backend case before the enclosing describe's tests and stops it after
 * them. The object is filled in by beforeAll: read it only in tests and hooks.
 */
export function instancesForSuite(start: BackendCase[1]): BackendInstances {
  const instances = {} as BackendInstances;
  beforeAll(async () => {
    const all = await start();
    Object.assign(instances, { all, first: all[0]!, second: all[all.length - 1]! });
  });
  afterAll(async () => {
    await Promise.all(instances.all.map((s) => s.stop()));
  });
  return instances;
}
