/**
 * Liveness verdicts (InstanceLease.isDead) on a real Redis, one node and the run's cluster, with
 * short settings (a 3 s lease renewed every 200 ms): each instance below has its own connections,
 * like a process of its own. Dead takes both signals stopping, the heartbeat and the liveness
 * channel; either one alone is a live instance. A lease without heartbeat terms (an older
 * instance) counts by its lapse only; a judge that just reconnected judges nothing fast; an
 * instance taken for dead is told at its next heartbeat.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../observability/logger.js';
import { keys } from '../protocol/channels.js';
import type { MessageBus } from '../store/bus.js';
import type { KeyValueStore } from '../store/kv.js';
import { RedisBus } from '../store/redis-bus.js';
import { connectRedis, type RedisTarget } from '../store/redis-connections.js';
import { RedisKeyValueStore } from '../store/redis-kv.js';
import { InstanceLease } from './instance-lease.js';

const TTL_MS = 3000;
const HEARTBEAT_MS = 200;
const logger = createLogger('error', true);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  id: string;
  lease: InstanceLease;
  kv: KeyValueStore;
  /** Closes its connections without a word (no lease deleted): what a SIGKILL does. */
  kill(): Promise<void>;
}

const targets: Array<[string, () => RedisTarget]> = [
  ['one Redis node', () => ({ url: process.env.TEST_REDIS_URL! })],
  ['a Redis Cluster', () => ({ clusterNodes: process.env.TEST_REDIS_CLUSTER_NODES!.split(',') })],
];

describe.each(targets)('instance liveness on %s', (_name, target) => {
  const started: Instance[] = [];

  /** An instance with its own connections; `alter` may stand in for its store or bus (faults). */
  async function instance(alter: { kv?: (kv: KeyValueStore) => KeyValueStore; bus?: (bus: MessageBus) => MessageBus } = {}): Promise<Instance> {
    const connections = await connectRedis(target(), logger);
    const kv = (alter.kv ?? ((x) => x))(new RedisKeyValueStore(connections.commands));
    const bus = (alter.bus ?? ((x) => x))(new RedisBus(connections.untimed, connections.subscriber, (events) => connections.onConnectionEvents(events)));
    const id = randomBytes(6).toString('hex');
    const lease = new InstanceLease(id, kv, bus, TTL_MS, HEARTBEAT_MS, logger);
    await lease.start();
    let closed = false;
    const made: Instance = {
      id,
      lease,
      kv,
      async kill() {
        if (closed) return;
        closed = true;
        // Its heartbeat timer (unref'd) fails from now on, reaching nothing, as a dead process's would not run.
        await connections.close();
      },
    };
    started.push(made);
    return made;
  }

  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((x) => x.kill()));
  });

  test('a killed instance (heartbeat and liveness channel gone at once) is dead within a second, and its lease is revoked', async () => {
    const [victim, judge] = await Promise.all([instance(), instance()]);
    expect(await judge.lease.isDead(victim.id, { wait: true })).toBe(false);
    await victim.kill();
    const killedAt = Date.now();
    expect(await judge.lease.isDead(victim.id, { wait: true })).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(2 * HEARTBEAT_MS + 1000);
    expect(await judge.kv.get(keys.instanceLease(victim.id))).toBeNull();
    // Every instance agrees at once, from the lease alone.
    expect(await judge.lease.isAlive(victim.id)).toBe(false);
  });

  test('without waiting, a fresh lease is alive; once it is stale and the channel silent, dead', async () => {
    const [victim, judge] = await Promise.all([instance(), instance()]);
    await victim.kill();
    expect(await judge.lease.isDead(victim.id)).toBe(false);
    await sleep(2 * HEARTBEAT_MS + 100);
    expect(await judge.lease.isDead(victim.id)).toBe(true);
  });

  test('a live instance whose subscriber is away (its heartbeat goes on) is not dead', async () => {
    // Its liveness channel is never subscribed: SPUBLISH reaches nobody, as while its subscriber reconnects.
    const deaf = (bus: MessageBus): MessageBus => new Proxy(bus, { get: (t, p, r) => (p === 'subscribe' ? async () => undefined : Reflect.get(t, p, r)) });
    const [silent, judge] = await Promise.all([instance({ bus: deaf }), instance()]);
    const startedAt = Date.now();
    expect(await judge.lease.isDead(silent.id, { wait: true })).toBe(false);
    // It was watched (not trusted at once): long enough for its lease to have turned stale unless renewed.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
    expect(await judge.lease.isDead(silent.id)).toBe(false);
    await sleep(1000);
    expect(await judge.lease.isDead(silent.id, { wait: true })).toBe(false);
    expect(await judge.kv.get(keys.instanceLease(silent.id))).not.toBeNull();
  });

  test('a live instance whose heartbeat stalls (its subscriber still there) is not dead until its lease lapses', async () => {
    let stalled = false;
    const stalling = (kv: KeyValueStore): KeyValueStore =>
      new Proxy(kv, {
        get: (t, p, r) => (p === 'extend' ? (key: string, ttl: number) => (stalled ? new Promise<boolean>(() => undefined) : t.extend(key, ttl)) : Reflect.get(t, p, r)),
      });
    const [stuck, judge] = await Promise.all([instance({ kv: stalling }), instance()]);
    stalled = true;
    await sleep(4 * HEARTBEAT_MS);
    expect(await judge.lease.isDead(stuck.id, { wait: true })).toBe(false);
    expect(await judge.lease.isDead(stuck.id)).toBe(false);
    expect(await judge.kv.get(keys.instanceLease(stuck.id))).not.toBeNull();
    // The lease lapses (3 s without renewal): dead then, as ever.
    await sleep(TTL_MS);
    expect(await judge.lease.isDead(stuck.id)).toBe(true);
  });

  test('a lease without heartbeat terms (an older instance, no liveness channel) counts by its lapse only', async () => {
    const judge = await instance();
    const old = randomBytes(6).toString('hex');
    await judge.kv.set(keys.instanceLease(old), JSON.stringify({ host: 'h', pid: 1, startedAt: 1 }), 1200);
    expect(await judge.lease.isDead(old, { wait: true })).toBe(false);
    expect(await judge.kv.get(keys.instanceLease(old))).not.toBeNull();
    await sleep(1300);
    expect(await judge.lease.isDead(old, { wait: true })).toBe(true);
  });

  test('a judge that just reconnected to Redis (keys may be missing) judges nobody dead', async () => {
    const [victim, judge] = await Promise.all([instance(), instance()]);
    await victim.kill();
    await judge.lease.afterReconnect(60_000);
    expect(await judge.lease.isDead(victim.id, { wait: true })).toBe(false);
    await judge.kv.del([keys.instanceLease(victim.id)]);
    expect(await judge.lease.isDead(victim.id)).toBe(false);
  });

  test('an instance taken for dead while alive is told at its next heartbeat, and writes its lease again', async () => {
    const survivor = await instance();
    let told = 0;
    survivor.lease.onRevoked = () => void (told += 1);
    await survivor.kv.del([keys.instanceLease(survivor.id)]);
    await sleep(2 * HEARTBEAT_MS);
    expect(told).toBe(1);
    expect(await survivor.kv.get(keys.instanceLease(survivor.id))).not.toBeNull();
  });
});
