/**
 * The key-value contract, one suite over every backend: in memory, Redis (the
 * run's private redis-server) and a Redis Cluster (the run's private cluster). Keys expire; bounded sets count only
 * unexpired members; claims and releases are compare-and-set.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '../observability/logger.js';
import type { KeyValueStore } from './kv.js';
import { MemoryKeyValueStore } from './memory-kv.js';
import { connectRedis } from './redis-connections.js';
import { RedisKeyValueStore } from './redis-kv.js';
import { redisTargets } from '../../test/support/redis-targets.js';

type Started = { kv: KeyValueStore; close(): Promise<void> };

const cases: Array<[string, () => Promise<Started>]> = [
  [
    'in-memory',
    async () => {
      const kv = new MemoryKeyValueStore();
      return { kv, close: async () => kv.close() };
    },
  ],
  ...redisTargets.map(([name, { target }]): [string, () => Promise<Started>] => [
    name,
    async () => {
      const connections = await connectRedis(target(), createLogger('error', true));
      return { kv: new RedisKeyValueStore(connections.commands), close: () => connections.close() };
    },
  ]),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(cases)('key-value store (%s)', (_name, start) => {
  let started: Started;
  let kv: KeyValueStore;
  let prefix: string;
  const key = (name: string) => `test:${prefix}:${name}`;

  beforeEach(async () => {
    started = await start();
    kv = started.kv;
    prefix = randomUUID();
  });
  afterEach(() => started.close());

  test('a key lives for its TTL, and says how long it has left', async () => {
    await kv.set(key('a'), 'one', 5_000);
    await kv.set(key('b'), 'two', 150);
    expect(await kv.get(key('a'))).toBe('one');
    const [a, b, missing] = await kv.remainingTtl([key('a'), key('b'), key('none')]);
    expect(a).toBeGreaterThan(4_000);
    expect(a).toBeLessThanOrEqual(5_000);
    expect(b).toBeLessThanOrEqual(150);
    expect(missing).toBeNull();
    await sleep(250);
    expect(await kv.get(key('b'))).toBeNull();
    expect(await kv.remainingTtl([key('b')])).toEqual([null]);
  });

  test('set only if absent, and getAndTouch resets the TTL', async () => {
    expect(await kv.set(key('k'), 'first', 200, { onlyIfAbsent: true })).toBe(true);
    expect(await kv.set(key('k'), 'second', 200, { onlyIfAbsent: true })).toBe(false);
    expect(await kv.getAndTouch(key('k'), 10_000)).toBe('first');
    const [left] = await kv.remainingTtl([key('k')]);
    expect(left).toBeGreaterThan(5_000);
  });

  test('a bounded set admits up to its limit, lists its live members latest-expiring first, and forgets expired ones', async () => {
    const set = key('set');
    const now = Date.now();
    expect(await kv.addBounded(set, 'x', now + 10_000, 3, 60_000)).toBe(true);
    expect(await kv.addBounded(set, 'y', now + 30_000, 3, 60_000)).toBe(true);
    expect(await kv.addBounded(set, 'z', now + 200, 3, 60_000)).toBe(true);
    expect(await kv.addBounded(set, 'w', now + 10_000, 3, 60_000)).toBe(false);
    expect(await kv.boundedMembers(set, 10)).toEqual(['y', 'x', 'z']);
    expect(await kv.boundedMembers(set, 1)).toEqual(['y']);
    await sleep(300);
    expect(await kv.boundedMembers(set, 10)).toEqual(['y', 'x']);
    expect(await kv.addBounded(set, 'w', Date.now() + 10_000, 3, 60_000)).toBe(true);
    await kv.removeBounded(set, 'y');
    expect((await kv.boundedMembers(set, 10)).sort()).toEqual(['w', 'x']);
    expect(await kv.boundedMembers(key('no-such-set'), 10)).toEqual([]);
  });

  test('a registry refreshes its members, drops the expired ones, and lists the live ones', async () => {
    const registry = key('registry');
    await kv.refreshMember(registry, 'a', Date.now() + 200, 60_000);
    await kv.refreshMember(registry, 'b', Date.now() + 10_000, 60_000);
    expect((await kv.boundedMembers(registry, 10)).sort()).toEqual(['a', 'b']);
    await sleep(300);
    expect(await kv.boundedMembers(registry, 10)).toEqual(['b']);
    await kv.refreshMember(registry, 'a', Date.now() + 10_000, 60_000);
    expect((await kv.boundedMembers(registry, 10)).sort()).toEqual(['a', 'b']);
  });

  test('a claim takes a pointer only from the expected holder whose lease lapsed', async () => {
    const pointer = key('pointer');
    await kv.set(pointer, 'a', 10_000);
    await kv.set(key('lease:a'), '1', 10_000);
    expect(await kv.claim(pointer, 'a', 'b', key('lease:a'))).toBe(false);
    await kv.del([key('lease:a')]);
    expect(await kv.claim(pointer, 'x', 'b', key('lease:x'))).toBe(false);
    expect(await kv.claim(pointer, 'a', 'b', key('lease:a'))).toBe(true);
    expect(await kv.get(pointer)).toBe('b');
    expect(await kv.release(pointer, 'a')).toBe(false);
    expect(await kv.release(pointer, 'b')).toBe(true);
    expect(await kv.claim(pointer, '', 'c', key('lease:none'))).toBe(true);
  });

  test('extend resets one key\'s TTL and tells whether the key was there', async () => {
    await kv.set(key('lease'), 'v', 300);
    expect(await kv.extend(key('lease'), 10_000)).toBe(true);
    const [left] = await kv.remainingTtl([key('lease')]);
    expect(left).toBeGreaterThan(5_000);
    expect(await kv.extend(key('none'), 10_000)).toBe(false);
    expect(await kv.get(key('none'))).toBeNull();
  });

  test('a lease is revoked only when it has little left to live (not renewed since), and a missing one counts as revoked', async () => {
    await kv.set(key('fresh'), 'v', 10_000);
    expect(await kv.revokeIfStale(key('fresh'), 8_000)).toBe(false);
    expect(await kv.get(key('fresh'))).toBe('v');
    await kv.set(key('stale'), 'v', 5_000);
    expect(await kv.revokeIfStale(key('stale'), 8_000)).toBe(true);
    expect(await kv.get(key('stale'))).toBeNull();
    expect(await kv.revokeIfStale(key('never'), 8_000)).toBe(true);
  });

  test('keys are written unless their guard names another holder', async () => {
    const guard = key('{s}:instance');
    const entries: Array<[string, string]> = [
      [guard, 'me'],
      [key('{s}:state'), 'state-1'],
    ];
    // Missing guard (the store lost the keys): written.
    expect(await kv.setManyIfHeld(guard, 'me', entries, 10_000)).toBe(true);
    expect(await kv.get(key('{s}:state'))).toBe('state-1');
    // Held by us: written again.
    expect(await kv.setManyIfHeld(guard, 'me', [[guard, 'me'], [key('{s}:state'), 'state-2']], 10_000)).toBe(true);
    expect(await kv.get(key('{s}:state'))).toBe('state-2');
    // Taken over by another holder (or released): nothing written.
    await kv.set(guard, 'other', 10_000);
    expect(await kv.setManyIfHeld(guard, 'me', [[guard, 'me'], [key('{s}:state'), 'state-3']], 10_000)).toBe(false);
    expect(await kv.get(guard)).toBe('other');
    expect(await kv.get(key('{s}:state'))).toBe('state-2');
    await kv.set(guard, '', 10_000);
    expect(await kv.setManyIfHeld(guard, 'me', entries, 10_000)).toBe(false);
  });
});
