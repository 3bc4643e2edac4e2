import os from 'node:os';
import { createClient } from 'redis';
import type { Logger } from 'winston';
import { eventLogScripts } from './event-log-scripts.js';

/** The longest pause between two reconnection attempts: every instance is back this soon after Redis. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/** What `CLIENT LIST` shows for each connection: which process holds it, and for what. */
export function connectionName(role: 'commands' | 'subscriber'): string {
  return `mcp:${os.hostname().replace(/[^\w.-]/g, '_')}:${process.pid}:${role}`;
}

function createCommandClient(url: string, name: string) {
  return createClient({
    url,
    name,
    socket: {
      // Keep retrying with a capped backoff: a Redis restart must not end the process.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
      connectTimeout: 5000,
    },
    // Fail commands at once while disconnected rather than queueing them forever.
    disableOfflineQueue: true,
    scripts: eventLogScripts,
  });
}

export type RedisClient = ReturnType<typeof createCommandClient>;

/**
 * The process's only Redis connections: one for commands, one shared subscriber.
 * Nothing opens a connection per request or per session.
 */
export interface RedisConnections {
  commands: RedisClient;
  /**
   * The same command connection without node-redis's per-command timer, for the
   * commands of every tool call (PUBLISH, RPUSHX): arming an AbortSignal timer per
   * command cost about 4 % of a call's CPU. Nothing waits on them unbounded: the
   * HTTP request that caused them has its own deadline from arrival.
   */
  untimed: RedisClient;
  subscriber: RedisClient;
  close(): Promise<void>;
}

export async function connectRedis(url: string, logger: Logger): Promise<RedisConnections> {
  const commands = createCommandClient(url, connectionName('commands'));
  const subscriber = commands.duplicate({ name: connectionName('subscriber') });
  for (const [role, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => logger.warn('redis connection error', { role, error: error.message }));
    client.on('reconnecting', () => logger.info('redis reconnecting', { role }));
    client.on('ready', () => logger.debug('redis ready', { role }));
  }
  await Promise.all([commands.connect(), subscriber.connect()]);
  return {
    commands,
    untimed: commands.withCommandOptions({ timeout: 0 }),
    subscriber,
    async close() {
      await Promise.allSettled([commands.close(), subscriber.close()]);
    },
  };
}
