/**
 * The event log contract, one suite over every backend: in memory, Redis (the
 * run's private redis-server) and a Redis Cluster (the run's private cluster). What streams rely on: events come back
 * in order, one stream's at a time, a bounded number per read; the log stays
 * within its bounds as it grows, by count and by bytes, keeping the newest.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '../observability/logger.js';
import { keys, requestIdOfStreamKey, streamKeyFor } from '../protocol/channels.js';
import { eventSize, keptAfterTrim, type EventLogBounds, type EventStore } from './event-store.js';
import { formatEventId, parseEventId, type StoredEvent } from '../protocol/event-ids.js';
import { MemoryEventStore } from './memory-event-store.js';
import { connectRedis } from './redis-connections.js';
import { RedisEventStore } from './redis-event-store.js';
import { redisTargets } from '../../test/support/redis-targets.js';

const TTL_MS = 60_000;

type Started = { store: EventStore; close(): Promise<void> };

const cases: Array<[string, (bounds: EventLogBounds) => Promise<Started>]> = [
  ['in-memory', async (bounds) => ({ store: new MemoryEventStore(TTL_MS, bounds), close: async () => {} })],
  ...redisTargets.map(([name, { target }]): [string, (bounds: EventLogBounds) => Promise<Started>] => [
    name,
    async (bounds) => {
      const connections = await connectRedis(target(), createLogger('error', true));
      return { store: new RedisEventStore(connections, TTL_MS, bounds), close: () => connections.close() };
    },
  ]),
];

function event(seq: number, delivery = 'd1', message = `{"n":${seq}}`): StoredEvent {
  return { position: `1000-${seq}`, delivery, streamKey: delivery === '' ? '__GET_stream' : 'n:1', message };
}

const positions = (events: StoredEvent[]) => events.map((e) => e.position);

describe.each(cases)('event log (%s)', (_name, start) => {
  let started: Started;
  let session: string;
  const open = async (bounds: EventLogBounds) => {
    started = await start(bounds);
    session = randomUUID();
    return started.store;
  };
  afterEach(async () => {
    await started?.close();
  });

  test('after() returns one delivery’s events strictly after a position, in order', async () => {
    const store = await open({ maxEvents: 100, maxBytes: 1 << 20 });
    const log = store.writer(session, '0-0');
    for (let i = 1; i <= 6; i++) await log.append(event(i, i % 2 === 0 ? 'd2' : 'd1'));
    expect(positions(await store.after(session, '0-0', 'd1'))).toEqual(['1000-1', '1000-3', '1000-5']);
    expect(positions(await store.after(session, '1000-3', 'd1'))).toEqual(['1000-5']);
    expect(positions(await store.after(session, '1000-2', 'd2'))).toEqual(['1000-4', '1000-6']);
    expect(positions(await store.after(session, '1000-6', 'd2'))).toEqual([]);
    expect(positions(await store.after(session, '999-9', 'nobody'))).toEqual([]);
    const [first] = await store.after(session, '0-0', 'd1');
    expect(first).toEqual(event(1));
    expect(await store.lastPosition(session)).toBe('1000-6');
  });

  test('a read returns at most `limit` events; reading on from the last one gets the rest', async () => {
    const store = await open({ maxEvents: 1000, maxBytes: 1 << 20 });
    const log = store.writer(session, '0-0');
    for (let i = 1; i <= 150; i++) await log.append(event(i));
    const first = await store.after(session, '0-0', 'd1', 100);
    expect(first).toHaveLength(100);
    const rest = await store.after(session, first.at(-1)!.position, 'd1', 100);
    expect(positions(rest)).toEqual(Array.from({ length: 50 }, (_, i) => `1000-${i + 101}`));
  });

  /** After every append: within the bounds, the newest events in order, ending with the one just appended. */
  async function expectBoundedSuffix(store: EventStore, last: number, bounds: EventLogBounds) {
    const held = await store.after(session, '0-0', 'd1', 10_000);
    const kept = keptAfterTrim(bounds);
    expect(held.length).toBeLessThanOrEqual(bounds.maxEvents);
    if (held.length > 1) expect(held.reduce((sum, e) => sum + eventSize(e), 0)).toBeLessThanOrEqual(bounds.maxBytes);
    expect(positions(held)).toEqual(Array.from({ length: held.length }, (_, i) => `1000-${last - held.length + 1 + i}`));
    return { held: held.length, kept };
  }

  test('the log never holds more events than its bound, trimmed at append time to three quarters of it', async () => {
    const bounds = { maxEvents: 20, maxBytes: 1 << 20 };
    const store = await open(bounds);
    const log = store.writer(session, '0-0');
    const sizes: number[] = [];
    for (let i = 1; i <= 100; i++) {
      await log.append(event(i));
      const { held, kept } = await expectBoundedSuffix(store, i, bounds);
      if (i > bounds.maxEvents) expect(held).toBeGreaterThanOrEqual(kept.maxEvents);
      sizes.push(held);
    }
    // It trimmed (more than once), and it never trimmed below the kept level.
    expect(sizes.filter((n, i) => i > 0 && n < sizes[i - 1]!).length).toBeGreaterThan(3);
  });

  test('the log never holds more bytes than its bound, and always keeps the newest event', async () => {
    const message = `"${'x'.repeat(1000)}"`;
    const size = eventSize(event(100, 'd1', message)); // positions 1000-100 to 1000-999 have one length
    const bounds = { maxEvents: 1000, maxBytes: size * 8 };
    const store = await open(bounds);
    const log = store.writer(session, '0-0');
    for (let i = 100; i < 160; i++) {
      await log.append(event(i, 'd1', message));
      const { held, kept } = await expectBoundedSuffix(store, i, bounds);
      if (i >= 108) expect(held * size).toBeGreaterThanOrEqual(kept.maxBytes - size);
    }
    // One event larger than the whole bound: it stays, alone; the next one replaces it.
    await log.append(event(160, 'd1', `"${'y'.repeat(size * 9)}"`));
    expect(positions(await store.after(session, '0-0', 'd1'))).toEqual(['1000-160']);
    await log.append(event(161, 'd1', message));
    expect(positions(await store.after(session, '0-0', 'd1'))).toEqual(['1000-161']);
  });

  test('a burst of appends not awaited one by one (as a server sends them) stays within both bounds, from the log\'s first event', async () => {
    const message = `"${'z'.repeat(500)}"`;
    const bounds = { maxEvents: 1000, maxBytes: 20 * eventSize(event(100, 'd1', message)) };
    const store = await open(bounds);
    const log = store.writer(session, '0-0');
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(event(100 + round * 40 + i, 'd1', message))));
      await expectBoundedSuffix(store, 100 + round * 40 + 39, bounds);
    }
  });

  test('a writer that finds a log already there (a session taken over) keeps it within its bounds', async () => {
    const bounds = { maxEvents: 30, maxBytes: 1 << 20 };
    const store = await open(bounds);
    const first = store.writer(session, '0-0');
    for (let i = 1; i <= 25; i++) await first.append(event(i));
    const next = store.writer(session, await store.lastPosition(session));
    for (let i = 26; i <= 80; i++) {
      await next.append(event(i));
      await expectBoundedSuffix(store, i, bounds);
    }
  });

  test('a removed log is empty', async () => {
    const store = await open({ maxEvents: 10, maxBytes: 1 << 20 });
    await store.writer(session, '0-0').append(event(1));
    await store.remove(session);
    expect(await store.after(session, '0-0', 'd1')).toEqual([]);
    expect(await store.lastPosition(session)).toBe('0-0');
  });
});

test('Redis: the list has a TTL from its first element, and touch() renews it without writing', async () => {
  const connections = await connectRedis(process.env.TEST_REDIS_URL!, createLogger('error', true));
  try {
    const store = new RedisEventStore(connections, TTL_MS, { maxEvents: 10, maxBytes: 1 << 20 });
    const session = randomUUID();
    const key = keys.sessionEvents(session);
    await store.writer(session, '0-0').append(event(1));
    expect(await connections.commands.pTTL(key)).toBeGreaterThan(TTL_MS - 5000);
    await connections.commands.pExpire(key, 1000);
    await store.touch([session]);
    expect(await connections.commands.pTTL(key)).toBeGreaterThan(TTL_MS - 5000);
  } finally {
    await connections.close();
  }
});

test('every request id within MAX_ID_LENGTH makes an event id that parses back (the stream stays resumable)', () => {
  for (const id of [' '.repeat(1024), '€'.repeat(1024), 1e21, -1.5e-7, 7, 'a~b']) {
    const eventId = { position: '1795216232421-3', delivery: 'e2f980a7e141.4', streamKey: streamKeyFor(id) };
    expect(parseEventId(formatEventId(eventId))).toEqual(eventId);
    expect(requestIdOfStreamKey(eventId.streamKey)).toEqual(id);
  }
  expect(parseEventId(`1-0~d~s:${'%20'.repeat(5000)}`)).toBeUndefined();
});
