/**
 * The Redis the survival suites (test/survival.*.test.ts) run their instances on: each
 * suite runs once on a single Redis node and once on a Redis Cluster (3 masters, 3
 * replicas), as `describe.each(survivalRedisCases())`. Both are the suite's own, never
 * the run's shared ones: a suite's faults (and its load) must not reach the suites
 * running beside it.
 */
import type { RedisTarget } from '../../src/store/redis-connections.js';
import { startPrivateCluster, type PrivateCluster } from './redis-cluster.js';
import { startPrivateRedis } from './redis-server.js';

export interface SurvivalRedis {
  /** The settings that point an instance at it: REDIS_URL, or REDIS_CLUSTER_NODES. */
  env: Record<string, string>;
  /** Where it is, for connectAdmin. */
  target: RedisTarget;
  /**
   * Kills every node (SIGKILL) and starts it again on its port after downMs, empty (a cluster's
   * nodes keep their ids, slots and roles); resolves once Redis serves again (a cluster: every
   * node reports cluster_state:ok and every replica is in sync).
   */
  restart(downMs?: number): Promise<void>;
  /** Sends a signal to every node's process: SIGSTOP freezes Redis, SIGCONT lets it run again. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  stop(): Promise<void>;
}

export type Topology = 'node' | 'cluster';
export type SurvivalRedisCase = [name: string, start: () => Promise<SurvivalRedis>, topology: Topology];

/**
 * One case per topology, single node first. A cluster takes a few seconds to form: it is
 * started as the single-node case starts, and is ready when its turn comes.
 */
export function survivalRedisCases(): SurvivalRedisCase[] {
  let cluster: Promise<PrivateCluster> | undefined;
  const startCluster = () => (cluster ??= startPrivateCluster());
  // Stopped here too in case its case never ran (a test filter, a failed setup).
  afterAll(async () => {
    await (await cluster?.catch(() => undefined))?.stop();
  });
  return [
    [
      'one Redis node',
      async () => {
        startCluster().catch(() => undefined); // its failure is reported by its own case
        const redis = await startPrivateRedis();
        return {
          env: { REDIS_URL: redis.url },
          target: { url: redis.url },
          restart: (downMs) => redis.restart(downMs),
          signal: (signal) => void process.kill(redis.pid!, signal),
          stop: () => redis.stop(),
        };
      },
      'node',
    ],
    [
      'a Redis Cluster',
      async () => {
        const own = await startCluster();
        return {
          env: { REDIS_CLUSTER_NODES: own.nodes.join(',') },
          target: { clusterNodes: own.nodes },
          restart: (downMs) => own.restart(downMs),
          signal: (signal) => {
            for (const pid of own.pids) process.kill(pid!, signal);
          },
          stop: () => own.stop(),
        };
      },
      'cluster',
    ],
  ];
}
