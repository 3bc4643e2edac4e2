import { createClient } from 'redis';
import type { Logger } from 'winston';

function createCommandClient(url: string) {
  return createClient({
    url,
    socket: {
      // Keep retrying with a capped backoff: a Redis restart must not end the process.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000),
      connectTimeout: 5000,
    },
    // Fail commands at once while disconnected rather than queueing them forever.
    disableOfflineQueue: true,
  });
}

export type RedisClient = ReturnType<typeof createCommandClient>;

/**
 * The process's only Redis connections: one for commands, one shared subscriber.
 * Nothing opens a connection per request or per session.
 */
export interface RedisConnections {
  commands: RedisClient;
  subscriber: RedisClient;
  close(): Promise<void>;
}

export async function connectRedis(url: string, logger: Logger): Promise<RedisConnections> {
  const commands = createCommandClient(url);
  const subscriber = commands.duplicate();
  for (const [role, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => logger.warn('redis connection error', { role, error: error.message }));
    client.on('reconnecting', () => logger.info('redis reconnecting', { role }));
    client.on('ready', () => logger.debug('redis ready', { role }));
  }
  await Promise.all([commands.connect(), subscriber.connect()]);
  return {
    commands,
    subscriber,
    async close() {
      await Promise.allSettled([commands.close(), subscriber.close()]);
    },
  };
}
