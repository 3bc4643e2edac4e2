import type { RedisTarget } from '../../src/store/redis-connections.js';

/**
 * The Redis backends of the run (the private node and the private cluster the global setup
 * started), for the store's contract suites: each runs over the in-memory store and these.
 * `exactClassicCounts`: whether a classic PUBLISH counts every subscriber (on a cluster it
 * counts the receiving node's own only; sharded channels are exact everywhere).
 */
export const redisTargets: Array<[string, { target: () => RedisTarget; exactClassicCounts: boolean }]> = [
  ['Redis', { target: () => ({ url: process.env.TEST_REDIS_URL! }), exactClassicCounts: true }],
  ['Redis Cluster', { target: () => ({ clusterNodes: process.env.TEST_REDIS_CLUSTER_NODES!.split(',') }), exactClassicCounts: false }],
];
