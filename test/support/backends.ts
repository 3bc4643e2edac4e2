import type { RunningServer } from '../../src/server.js';
import { startInstance } from './instances.js';

export type BackendCase = [name: string, start: () => Promise<RunningServer[]>];

/**
 * The two backends every behavioural suite runs on: the embedded in-memory mode
 * (one instance), and Redis with two instances sharing the run's private Redis,
 * where sessions are created on the first and driven through the second.
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
  ];
}
