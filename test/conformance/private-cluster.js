// Starts a private Redis Cluster (test/support/redis-cluster.js), prints its seed
// nodes (comma-separated) on one line, and stops it on SIGTERM or SIGINT.
import { startPrivateCluster } from '../support/redis-cluster.js';

const cluster = await startPrivateCluster();
console.log(cluster.nodes.join(','));
const stop = async () => {
  await cluster.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 60_000);
