import { createLogger } from '../observability/logger.js';
import { connectRedis } from './redis-connections.js';

const logger = createLogger('error', true);

describe.each([
  ['one Redis node', () => ({ url: process.env.TEST_REDIS_URL! })],
  ['a Redis Cluster', () => ({ clusterNodes: process.env.TEST_REDIS_CLUSTER_NODES!.split(',') })],
])('the connections to %s', (_name, target) => {
  test('are ready as soon as they are connected, before anything subscribes', async () => {
    const connections = await connectRedis(target(), logger);
    try {
      expect(connections.isReady()).toBe(true);
      await connections.commands.ping();
      expect(connections.isReady()).toBe(true);
    } finally {
      await connections.close();
    }
  });
});
