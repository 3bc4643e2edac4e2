import type { KeyValueStore } from './kv.js';
import type { RedisClient } from './redis-connections.js';

// Compare-and-delete must be atomic, or we could delete a lease another instance just took.
const DEL_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class RedisKeyValueStore implements KeyValueStore {
  constructor(private readonly client: RedisClient) {}

  get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  getAndTouch(key: string, ttlMs: number): Promise<string | null> {
    return this.client.getEx(key, { type: 'PX', value: ttlMs });
  }

  async set(key: string, value: string, ttlMs: number, options?: { onlyIfAbsent?: boolean }): Promise<boolean> {
    const reply = await this.client.set(key, value, {
      expiration: { type: 'PX', value: ttlMs },
      ...(options?.onlyIfAbsent ? { condition: 'NX' as const } : {}),
    });
    return reply === 'OK';
  }

  async setMany(entries: Array<[string, string]>, ttlMs: number): Promise<void> {
    if (entries.length === 0) return;
    const batch = this.client.multi();
    for (const [key, value] of entries) batch.set(key, value, { expiration: { type: 'PX', value: ttlMs } });
    await batch.execAsPipeline();
  }

  async touch(keys: string[], ttlMs: number): Promise<void> {
    if (keys.length === 0) return;
    const batch = this.client.multi();
    for (const key of keys) batch.pExpire(key, ttlMs);
    await batch.execAsPipeline();
  }

  async existing(keys: string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const batch = this.client.multi();
    for (const key of keys) batch.exists(key);
    const replies = await batch.execAsPipeline();
    return replies.map((reply) => Number(reply) === 1);
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(keys);
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    const reply = await this.client.eval(DEL_IF_EQUALS, { keys: [key], arguments: [value] });
    return Number(reply) === 1;
  }
}
