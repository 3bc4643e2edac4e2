import type { KeyValueStore } from './kv.js';
import type { RedisClient } from './redis-connections.js';

// Compare-and-delete must be atomic, or we could delete a lease another instance just took.
const DEL_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

// Compare and take over in one step: of several instances claiming a session whose
// owner died, exactly one wins.
const CLAIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`;

// PEXPIRE first: Redis allows it at maxmemory, when SET is refused.
const RENEW = `if redis.call('PEXPIRE', KEYS[1], ARGV[2]) == 1 then return 1 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2`;

// Count and add in one step, so that instances racing cannot pass the bound together.
const ADD_BOUNDED = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local limit = tonumber(ARGV[4])
if limit > 0 and not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

// PTTL and DEL in one step: a lease renewed after its holder was found silent is not deleted.
const REVOKE_IF_STALE = `
local left = redis.call('PTTL', KEYS[1])
if left == -2 then return 1 end
if left >= 0 and left <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

// KEYS[1] is the guard, KEYS[2..n] the keys to write, ARGV[1] the holder, ARGV[2] the TTL, ARGV[3..n+1] the values.
const SET_MANY_IF_HELD = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[2]) end
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

  // Batches of keys are sent as one command per key, in one tick: node-redis pipelines them (one
  // round trip on a single node; one per node on a cluster), and no command spans hash slots.

  async setMany(entries: Array<[string, string]>, ttlMs: number): Promise<void> {
    await Promise.all(entries.map(([key, value]) => this.client.set(key, value, { expiration: { type: 'PX', value: ttlMs } })));
  }

  async touch(keys: string[], ttlMs: number): Promise<void> {
    await Promise.all(keys.map((key) => this.client.pExpire(key, ttlMs)));
  }

  async existing(keys: string[]): Promise<boolean[]> {
    const replies = await Promise.all(keys.map((key) => this.client.exists(key)));
    return replies.map((reply) => Number(reply) === 1);
  }

  async del(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.client.del(key)));
  }

  /**
   * The lease of the holder named, then the pointer: two commands, because the two keys live
   * in different hash slots (a session's, an instance's). A lease renewed between the two by a
   * holder that was only slow loses the session all the same: that renewal found the lease
   * missing, so the holder's sessions confirm who runs them, and it leaves this one (SessionHost).
   */
  async claim(key: string, expected: string, next: string, guardKey: string): Promise<boolean> {
    if (expected !== '' && Number(await this.client.exists(guardKey)) === 1) return false;
    const reply = await this.client.eval(CLAIM, { keys: [key], arguments: [expected, next] });
    return Number(reply) === 1;
  }

  async release(key: string, holder: string): Promise<boolean> {
    const reply = await this.client.eval(RELEASE, { keys: [key], arguments: [holder] });
    return Number(reply) === 1;
  }

  async renew(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.eval(RENEW, { keys: [key], arguments: [value, String(ttlMs)] });
  }

  async extend(key: string, ttlMs: number): Promise<boolean> {
    return Number(await this.client.pExpire(key, ttlMs)) === 1;
  }

  async revokeIfStale(key: string, maxRemainingMs: number): Promise<boolean> {
    const reply = await this.client.eval(REVOKE_IF_STALE, { keys: [key], arguments: [String(Math.floor(maxRemainingMs))] });
    return Number(reply) === 1;
  }

  async setManyIfHeld(guardKey: string, holder: string, entries: Array<[string, string]>, ttlMs: number): Promise<boolean> {
    const reply = await this.client.eval(SET_MANY_IF_HELD, {
      keys: [guardKey, ...entries.map(([key]) => key)],
      arguments: [holder, String(ttlMs), ...entries.map(([, value]) => value)],
    });
    return Number(reply) === 1;
  }

  async addBounded(key: string, member: string, expiresAt: number, limit: number, ttlMs: number): Promise<boolean> {
    const reply = await this.client.eval(ADD_BOUNDED, {
      keys: [key],
      arguments: [member, String(Date.now()), String(expiresAt), String(limit), String(ttlMs)],
    });
    return Number(reply) === 1;
  }

  async extendBounded(key: string, members: string[], expiresAt: number, ttlMs: number): Promise<void> {
    if (members.length === 0) return;
    await this.client
      .multi()
      .zAdd(key, members.map((value) => ({ score: expiresAt, value })), { condition: 'XX', comparison: 'GT' })
      .pExpire(key, ttlMs)
      .execAsPipeline();
  }

  async refreshMember(key: string, member: string, expiresAt: number, ttlMs: number): Promise<void> {
    await this.client
      .multi()
      .zRemRangeByScore(key, '-inf', Date.now())
      .zAdd(key, { score: expiresAt, value: member })
      .pExpire(key, ttlMs)
      .execAsPipeline();
  }

  async removeBounded(key: string, member: string): Promise<void> {
    await this.client.zRem(key, member);
  }

  async boundedMembers(key: string, max: number): Promise<string[]> {
    return this.client.zRange(key, '+inf', `(${Date.now()}`, { BY: 'SCORE', REV: true, LIMIT: { offset: 0, count: max } });
  }

  async remainingTtl(keys: string[]): Promise<Array<number | null>> {
    const replies = await Promise.all(keys.map((key) => this.client.pTTL(key)));
    // -2: no such key; -1 cannot happen (every key we write has a TTL) and reads as missing too.
    return replies.map((reply) => (Number(reply) >= 0 ? Number(reply) : null));
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    const reply = await this.client.eval(DEL_IF_EQUALS, { keys: [key], arguments: [value] });
    return Number(reply) === 1;
  }
}
