import { createLogger } from '../observability/logger.js';
import { connectRedis } from './redis-connections.js';
import { redisTargets } from '../../test/support/redis-targets.js';

const logger = createLogger('error', true);

describe.each(redisTargets)('the connections to %s', (_name, { target }) => {
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
