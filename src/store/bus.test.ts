/**
 * The message bus contract, one suite over every backend: the embedded
 * in-memory bus, Redis (the run's private redis-server) and a Redis Cluster (the
 * run's private cluster). What a caller relies on: once subscribe() resolved, a
 * message published is heard — also when the key's previous subscription is
 * being released at that very moment. Where a classic channel's receiver count is
 * the node's own (a cluster), the suite uses sharded channels, whose count is exact.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '../observability/logger.js';
import type { BusListener, MessageBus } from './bus.js';
import { channels } from '../protocol/channels.js';
import { MemoryBus } from './memory-bus.js';
import { RedisBus } from './redis-bus.js';
import { connectRedis, type RedisConnections } from './redis-connections.js';
import { redisTargets } from '../../test/support/redis-targets.js';

type Heard = { message: string; channel: string };

function recorder(): BusListener & { heard: Heard[] } {
  const heard: Heard[] = [];
  return Object.assign((message: string, channel: string) => void heard.push({ message, channel }), { heard });
}

/** Waits for a delivery (Redis delivers asynchronously); fails with what was heard instead. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within 2 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type Started = { bus: MessageBus; close(): Promise<void> };

const cases: Array<[string, { start: () => Promise<Started>; exactClassicCounts: boolean }]> = [
  ['in-memory', { start: async () => ({ bus: new MemoryBus(), close: async () => {} }), exactClassicCounts: true }],
  ...redisTargets.map(([name, { target, exactClassicCounts }]): [string, { start: () => Promise<Started>; exactClassicCounts: boolean }] => [
    name,
    {
      exactClassicCounts,
      start: async () => {
        const connections: RedisConnections = await connectRedis(target(), createLogger('error', true));
        return { bus: new RedisBus(connections.untimed, connections.subscriber, (events) => connections.onConnectionEvents(events)), close: () => connections.close() };
      },
    },
  ]),
];

describe.each(cases)('message bus (%s)', (_name, { start, exactClassicCounts }) => {
  let bus: MessageBus;
  let close: () => Promise<void>;
  let n = 0;
  const fresh = (prefix: string) =>
    exactClassicCounts ? `test:bus:${prefix}:${process.pid}:${Date.now()}:${n++}` : channels.toClient(randomUUID(), `${prefix}:${n++}`);

  beforeAll(async () => {
    ({ bus, close } = await start());
  });
  afterAll(() => close());

  test('a second listener on a channel is heard as soon as its subscribe resolves, with the first', async () => {
    const channel = fresh('channel');
    const [first, second] = [recorder(), recorder()];
    await Promise.all([bus.subscribe([channel], first), bus.subscribe([channel], second)]);
    expect(await bus.publish(channel, 'hello')).toBeGreaterThan(0);
    await eventually(() => first.heard.length === 1 && second.heard.length === 1, 'both listeners heard the message');
    expect(second.heard).toEqual([{ message: 'hello', channel }]);
    await Promise.all([bus.unsubscribe([channel], first), bus.unsubscribe([channel], second)]);
    expect(await bus.publish(channel, 'nobody')).toBe(0);
  });

  test('a channel subscribed again while its release is on the wire is subscribed when subscribe resolves', async () => {
    for (let round = 0; round < 20; round++) {
      const channel = fresh('resubscribe');
      const [old, next] = [recorder(), recorder()];
      await bus.subscribe([channel], old);
      const leaving = bus.unsubscribe([channel], old);
      await bus.subscribe([channel], next);
      // Published at once: the new listener must hear it, wherever the release stands.
      expect(await bus.publish(channel, `round ${round}`)).toBe(1);
      await leaving;
      await eventually(() => next.heard.length === 1, `round ${round}: the new listener heard the message`);
      await bus.unsubscribe([channel], next);
    }
    expect(bus.subscriptionCount()).toBe(0);
  });

  test("a session's (sharded) channel subscribed again while its release is on the wire is subscribed when subscribe resolves", async () => {
    for (let round = 0; round < 20; round++) {
      const channel = channels.toClient(randomUUID(), 'n:1');
      const [old, next] = [recorder(), recorder()];
      await bus.subscribe([channel], old);
      const leaving = bus.unsubscribe([channel], old);
      await bus.subscribe([channel], next);
      expect(await bus.publish(channel, `round ${round}`)).toBe(1);
      await leaving;
      await eventually(() => next.heard.length === 1, `round ${round}: the new listener heard the message`);
      expect(next.heard[0]!.channel).toBe(channel);
      await bus.unsubscribe([channel], next);
    }
    expect(bus.subscriptionCount()).toBe(0);
  });

  test('the last listener still hears what is published until its release completes; nothing after', async () => {
    const channel = fresh('leaving');
    const last = recorder();
    await bus.subscribe([channel], last);
    const leaving = bus.unsubscribe([channel], last);
    const counted = await bus.publish(channel, 'while leaving');
    await leaving;
    // Whatever PUBLISH counted as delivered was delivered.
    await eventually(() => last.heard.length === counted, 'every counted message heard');
    expect(await bus.publish(channel, 'after')).toBe(0);
  });

  test('subscribing several channels at once; unsubscribing one leaves the others', async () => {
    const [x, y] = [fresh('multi'), fresh('multi')];
    const listener = recorder();
    await bus.subscribe([x, y], listener);
    expect(bus.subscriptionCount()).toBe(2);
    await bus.unsubscribe([x], listener);
    expect(await bus.publish(x, 'x')).toBe(0);
    expect(await bus.publish(y, 'y')).toBe(1);
    await eventually(() => listener.heard.length === 1, 'the remaining channel heard');
    await bus.unsubscribe([y], listener);
    expect(bus.subscriptionCount()).toBe(0);
  });
});
