import type { Logger } from '../observability/logger.js';
import type { MessageBus } from './bus.js';
import type { KeyValueStore } from './kv.js';
import { MemoryBus } from './memory-bus.js';
import { MemoryKeyValueStore } from './memory-kv.js';
import { RedisBus } from './redis-bus.js';
import { connectRedis, type RedisClient } from './redis-connections.js';
import { RedisKeyValueStore } from './redis-kv.js';

/** Where sessions' messages and keys live: Redis (shared) or this process (embedded). */
export interface Backend {
  kind: 'redis' | 'memory';
  bus: MessageBus;
  kv: KeyValueStore;
  /** The Redis command connection, when there is one (health checks, tests). */
  redis?: RedisClient;
  close(): Promise<void>;
}

export async function createBackend(redisUrl: string | undefined, logger: Logger): Promise<Backend> {
  if (!redisUrl) {
    const kv = new MemoryKeyValueStore();
    return { kind: 'memory', bus: new MemoryBus(), kv, close: async () => kv.close() };
  }
  const connections = await connectRedis(redisUrl, logger);
  return {
    kind: 'redis',
    bus: new RedisBus(connections.commands, connections.subscriber),
    kv: new RedisKeyValueStore(connections.commands),
    redis: connections.commands,
    close: () => connections.close(),
  };
}
