import { startPrivateCluster } from './redis-cluster.js';
import { startPrivateRedis } from './redis-server.js';

/**
 * One private redis-server and one private Redis Cluster (3 masters, 3 replicas) for the run;
 * they reach every suite through TEST_REDIS_URL and TEST_REDIS_CLUSTER_NODES (comma-separated).
 */
export default async function globalSetup() {
  const [redis, cluster] = await Promise.all([startPrivateRedis(), startPrivateCluster()]);
  globalThis.__PRIVATE_REDIS__ = redis;
  globalThis.__PRIVATE_CLUSTER__ = cluster;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodes.join(',');
}
