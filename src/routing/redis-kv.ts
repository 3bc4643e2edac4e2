import type { KeyValueStore } from './kv.js';
import type { RedisClient } from './redis-connections.js';

// Compare-and-delete must be atomic, or we could delete a lease another instance just took.
const DEL_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

// Check and take over in one step: of several instances claiming a session whose
// owner died, exactly one wins.
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return 0 end
if ARGV[1] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], '', 'KEEPTTL') return 1 else return 0 end`;

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

  async claim(key: string, expected: string, next: string, guardKey: string): Promise<boolean> {
    const reply = await this.client.eval(CLAIM, { keys: [key, guardKey], arguments: [expected, next] });
    return Number(reply) === 1;
  }

  async release(key: string, holder: string): Promise<boolean> {
    const reply = await this.client.eval(RELEASE, { keys: [key], arguments: [holder] });
    return Number(reply) === 1;
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    const reply = await this.client.eval(DEL_IF_EQUALS, { keys: [key], arguments: [value] });
    return Number(reply) === 1;
  }
}
