import type { Logger } from '../observability/logger.js';
import type { MessageBus } from './bus.js';
import type { EventLogBounds, EventStore } from './event-store.js';
import type { KeyValueStore } from './kv.js';
import { MemoryEventStore } from './memory-event-store.js';
import { MemoryBus } from './memory-bus.js';
import { MemoryKeyValueStore } from './memory-kv.js';
import { RedisBus } from './redis-bus.js';
import { connectRedis, type RedisClient, type RedisTarget } from './redis-connections.js';
import { RedisEventStore } from './redis-event-store.js';
import { RedisKeyValueStore } from './redis-kv.js';

/** Where sessions' messages and keys live: Redis (shared) or this process (embedded). */
export interface Store {
  kind: 'redis' | 'memory';
  /** Redis: one node, or a cluster. */
  topology?: 'node' | 'cluster';
  bus: MessageBus;
  kv: KeyValueStore;
  events: EventStore;
  /** The Redis command connection, when there is one (health checks, tests). */
  redis?: RedisClient;
  /** Registers a callback for each time the connection to Redis comes back after a loss. */
  onReconnect?(callback: () => void): void;
  /** Whether commands can be sent now. */
  isReady(): boolean;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** How long a session's stored events outlive its last activity. */
  sessionTtlMs: number;
  eventLog: EventLogBounds;
}

export async function createStore(redis: RedisTarget | undefined, options: StoreOptions, logger: Logger): Promise<Store> {
  const { sessionTtlMs, eventLog } = options;
  if (!redis) {
    const kv = new MemoryKeyValueStore();
    const events = new MemoryEventStore(sessionTtlMs, eventLog);
    return {
      kind: 'memory',
      bus: new MemoryBus(),
      kv,
      events,
      isReady: () => true,
      close: async () => {
        kv.close();
        events.close();
      },
    };
  }
  const connections = await connectRedis(redis, logger);
  return {
    kind: 'redis',
    topology: connections.kind,
    bus: new RedisBus(connections.untimed, connections.subscriber, (events) => connections.onConnectionEvents(events)),
    kv: new RedisKeyValueStore(connections.commands),
    events: new RedisEventStore(connections, sessionTtlMs, eventLog),
    redis: connections.commands,
    isReady: () => connections.isReady(),
    onReconnect: (callback) => connections.onReconnect(callback),
    close: () => connections.close(),
  };
}
