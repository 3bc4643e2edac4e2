/**
 * Failover with the default liveness settings (no INSTANCE_LEASE_TTL_MS override: a 10 s lease
 * renewed every second), on one Redis node and on a Redis Cluster, each the suite's own:
 *
 * - the owner of a live session is SIGKILLed just after it renewed its lease (the slowest case),
 *   and a call through the other instance, same Mcp-Session-Id, is answered within 3 s of the
 *   kill; the dead owner's lease was revoked (it would live 10 s otherwise);
 * - a live owner is never taken for dead: idle for seconds, its lease stays fresh and its
 *   session stays its own; with its subscriber connection cut again and again (CLIENT KILL)
 *   while calls arrive through the other instance, that instance suspects it (SPUBLISH on its
 *   liveness channel) but takes nothing over, and the calls are answered by the owner.
 */
import { jest } from '@jest/globals';
import { createClient, createCluster } from 'redis';
import { channels, keys } from '../src/protocol/channels.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';
import { startPrivateCluster } from './support/redis-cluster.js';
import { startPrivateRedis } from './support/redis-server.js';
import { sleep } from './support/survival-helpers.js';

jest.setTimeout(90_000);

/** The test run's instances get a 3 s lease unless told otherwise: '' leaves the setting unset (its default). */
const DEFAULTS = { INSTANCE_LEASE_TTL_MS: '', INSTANCE_HEARTBEAT_MS: '', REQUEST_TIMEOUT_S: '20' };
const LEASE_TTL_MS = 10_000;
const HEARTBEAT_MS = 1000;

const nodeClientOf = (url: string) => createClient({ url, socket: { reconnectStrategy: false } });
type NodeClient = ReturnType<typeof nodeClientOf>;

/** One Redis deployment of the suite's own, as the instances and the test reach it. */
interface Store {
  /** Settings that point an instance at it. */
  env: Record<string, string>;
  get(key: string): Promise<string | null>;
  pTTL(key: string): Promise<number>;
  /** Members of a sorted set. */
  members(key: string): Promise<string[]>;
  /** A client on each master (CLIENT LIST, CLIENT KILL, MONITOR). */
  masters(): Promise<NodeClient[]>;
  stop(): Promise<void>;
}

async function nodeClient(url: string): Promise<NodeClient> {
  const client = nodeClientOf(url);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function singleNode(): Promise<Store> {
  const redis = await startPrivateRedis();
  const admin = await nodeClient(redis.url);
  return {
    env: { REDIS_URL: redis.url },
    get: (key) => admin.get(key),
    pTTL: (key) => admin.pTTL(key),
    members: (key) => admin.zRange(key, 0, -1),
    masters: async () => [admin],
    async stop() {
      await admin.close().catch(() => undefined);
      await redis.stop();
    },
  };
}

async function cluster(): Promise<Store> {
  const own = await startPrivateCluster();
  const admin = createCluster({ rootNodes: own.nodes.map((url) => ({ url })), useReplicas: false });
  admin.on('error', () => undefined);
  await admin.connect();
  const nodes = await Promise.all(own.nodes.map(nodeClient));
  return {
    env: { REDIS_URL: '', REDIS_CLUSTER_NODES: own.nodes.join(',') },
    get: (key) => admin.get(key),
    pTTL: (key) => admin.pTTL(key),
    members: (key) => admin.zRange(key, 0, -1),
    async masters() {
      const roles = await Promise.all(nodes.map(async (node) => (await node.info('replication')).includes('role:master')));
      return nodes.filter((_, i) => roles[i]);
    },
    async stop() {
      await Promise.allSettled([admin.close(), ...nodes.map((node) => node.close())]);
      await own.stop();
    },
  };
}

/** An echo call through `url`: the echoed text when answered, else what happened. */
async function echo(url: string, sessionId: string, id: string, timeoutMs = 10_000): Promise<{ ok: boolean; what: string }> {
  try {
    const response = await post(url, sessionId, toolCall(id, 'echo', { message: id }), AbortSignal.timeout(timeoutMs));
    const last = sseMessages(await response.text()).at(-1);
    const text = last?.result?.content?.[0]?.text as string | undefined;
    return { ok: response.status === 200 && text === `Echo: ${id}`, what: `${response.status} ${JSON.stringify(last)}` };
  } catch (error) {
    return { ok: false, what: (error as Error).message };
  }
}

/** A child's log lines from now on, stdout and stderr (warnings and errors go there). */
function captureLogs(child: ChildInstance): string[] {
  const lines: string[] = [];
  for (const stream of [child.process.stdout, child.process.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
  }
  return lines;
}

/** Cuts every pub/sub connection of the process `pid` on every master (its connections are named after its pid). */
async function killSubscriberOf(store: Store, pid: number): Promise<number> {
  let killed = 0;
  for (const master of await store.masters()) {
    const list = String(await master.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
    for (const line of list.split('\n')) {
      const id = /\bid=(\d+)/.exec(line)?.[1];
      if (id && line.includes(`:${pid}:`)) killed += Number(await master.sendCommand(['CLIENT', 'KILL', 'ID', id]).catch(() => 0));
    }
  }
  return killed;
}

/** How many subscribers a sharded channel has, all masters together (a master not serving its slot counts none). */
async function shardSubscribers(store: Store, channel: string): Promise<number> {
  let count = 0;
  for (const master of await store.masters()) {
    const reply = (await master.sendCommand(['PUBSUB', 'SHARDNUMSUB', channel])) as [string, number];
    count += Number(reply[1]);
  }
  return count;
}

/** Records the commands every master runs whose first argument is `name` and whose second is `arg`. */
async function watchCommands(store: Store, name: string, arg: string): Promise<{ seen: () => number; stop: () => Promise<void> }> {
  let seen = 0;
  const monitors = await Promise.all(
    (await store.masters()).map(async (master) => {
      const monitor = master.duplicate();
      monitor.on('error', () => undefined);
      await monitor.connect();
      await monitor.monitor((line) => {
        if (line.toLowerCase().includes(`"${name}" "${arg.toLowerCase()}"`)) seen += 1;
      });
      return monitor;
    }),
  );
  return { seen: () => seen, stop: async () => void (await Promise.allSettled(monitors.map((m) => m.close()))) };
}

describe.each([
  ['one Redis node', singleNode],
  ['a Redis Cluster', cluster],
] as const)('failover with the default lease settings, on %s', (_name, startStore) => {
  let store: Store;
  const children: ChildInstance[] = [];
  const start = async () => {
    const child = await startChildInstance('', { ...store.env, ...DEFAULTS });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    store = await startStore();
  });
  afterAll(async () => {
    await Promise.allSettled(children.map((child) => child.kill('SIGKILL')));
    await store?.stop();
  });

  test('the owner killed with SIGKILL just after its heartbeat: a call through the other instance is answered within 3 s', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const logsB = captureLogs(b);
    const sessionId = await openSession(a.url);
    expect((await echo(b.url, sessionId, 'before')).ok).toBe(true);
    const idA = (await store.get(keys.sessionInstance(sessionId)))!;
    expect(idA).toMatch(/^[0-9a-f]{12}$/);
    const leaseA = keys.instanceLease(idA);
    const terms = JSON.parse((await store.get(leaseA))!) as { ttlMs: number; heartbeatMs: number };
    expect(terms).toMatchObject({ ttlMs: LEASE_TTL_MS, heartbeatMs: HEARTBEAT_MS });

    // The slowest case: the kill lands right after a renewal, a whole lease TTL ahead.
    let left = 0;
    for (const until = Date.now() + 3 * HEARTBEAT_MS; Date.now() < until && left < LEASE_TTL_MS - 60; ) left = await store.pTTL(leaseA);
    expect(left).toBeGreaterThanOrEqual(LEASE_TTL_MS - 60);
    await a.kill('SIGKILL');
    const killedAt = Date.now();

    const attempts: string[] = [];
    let answeredAt: number | undefined;
    while (answeredAt === undefined && Date.now() - killedAt < 10_000) {
      const call = await echo(b.url, sessionId, `after-kill-${attempts.length}`);
      if (call.ok) answeredAt = Date.now();
      else {
        attempts.push(call.what);
        await sleep(100);
      }
    }
    expect(answeredAt).toBeDefined();
    expect({ failedCalls: attempts, answeredMs: answeredAt! - killedAt }).toEqual({ failedCalls: [], answeredMs: expect.any(Number) });
    expect(answeredAt! - killedAt).toBeLessThan(3000);

    // B runs the session now, taken over from A, whose lease was revoked (its TTL had 7 s left).
    const idB = (await store.members(keys.instances)).find((id) => id !== idA)!;
    expect(await store.get(keys.sessionInstance(sessionId))).toBe(idB);
    expect(await store.get(leaseA)).toBeNull();
    expect(logsB.filter((line) => line.includes('taken for dead'))).toEqual([expect.stringContaining(idA)]);
    expect(logsB.some((line) => line.includes('session taken over') && line.includes(sessionId))).toBe(true);
    expect((await echo(b.url, sessionId, 'later')).ok).toBe(true);
    await b.kill('SIGKILL');
  });

  test('a live owner is not taken for dead: idle, its lease stays fresh; its subscriber connection cut again and again, it keeps its session', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const [logsA, logsB] = [captureLogs(a), captureLogs(b)];
    const sessionId = await openSession(a.url);
    expect((await echo(b.url, sessionId, 'warm')).ok).toBe(true);
    const idA = (await store.get(keys.sessionInstance(sessionId)))!;
    const leaseA = keys.instanceLease(idA);

    // Idle for 5 s: the lease never misses two heartbeats, and nothing moves.
    let lowest = Infinity;
    for (const until = Date.now() + 5000; Date.now() < until; await sleep(100)) lowest = Math.min(lowest, await store.pTTL(leaseA));
    expect(lowest).toBeGreaterThan(LEASE_TTL_MS - 2 * HEARTBEAT_MS);
    expect((await echo(b.url, sessionId, 'after-idle')).ok).toBe(true);
    expect(await store.get(keys.sessionInstance(sessionId))).toBe(idA);

    // A's subscriber connection cut every 100 ms for 4 s while calls arrive through B: B finds
    // nobody on the session's channel and suspects A (SPUBLISH on A's liveness channel), but
    // A's heartbeat goes on, so B takes nothing over.
    const suspicions = await watchCommands(store, 'spublish', channels.instanceAlive(idA));
    let cutting = true;
    let cuts = 0;
    const cutter = (async () => {
      while (cutting) {
        cuts += await killSubscriberOf(store, a.process.pid!);
        await sleep(100);
      }
    })();
    const calls: Array<{ ok: boolean; what: string }> = [];
    try {
      for (const until = Date.now() + 4000; Date.now() < until; ) calls.push(await echo(b.url, sessionId, `cut-${calls.length}`, 6000));
    } finally {
      cutting = false;
      await cutter;
    }
    await sleep(500);
    await suspicions.stop();
    expect(cuts).toBeGreaterThan(5);
    expect(suspicions.seen()).toBeGreaterThan(0);

    // Still A's session, A's lease never revoked, and the calls go on through both instances.
    expect(await store.get(keys.sessionInstance(sessionId))).toBe(idA);
    expect(await store.pTTL(leaseA)).toBeGreaterThan(LEASE_TTL_MS - 2 * HEARTBEAT_MS);
    expect(logsB.filter((line) => line.includes('taken for dead') || line.includes('session taken over'))).toEqual([]);
    expect(logsA.filter((line) => line.includes('own lease found missing') || line.includes('left to it'))).toEqual([]);
    expect((await echo(b.url, sessionId, 'after-cuts-b')).ok).toBe(true);
    expect((await echo(a.url, sessionId, 'after-cuts-a')).ok).toBe(true);
    // Calls during the cuts were answered, refused with a 503 the client retries, or lost with the
    // connection they were delivered on as it was cut (pub/sub delivers at most once): never
    // answered by a second owner, which the checks above rule out.
    expect(calls.some((call) => call.ok)).toBe(true);
    expect(calls.filter((call) => !call.ok && !call.what.startsWith('503') && !call.what.includes('timeout'))).toEqual([]);
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  });

  test('an owner taken for dead while alive (frozen, its subscriber cut) leaves the session to the instance that took it over once it resumes', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const logsA = captureLogs(a);
    const sessionId = await openSession(a.url);
    expect((await echo(b.url, sessionId, 'warm')).ok).toBe(true);
    const idA = (await store.get(keys.sessionInstance(sessionId)))!;

    // A freezes (a long pause: no heartbeat) and its subscriber connection is cut meanwhile:
    // both signals stop, as for a dead process, and B takes the session over.
    a.process.kill('SIGSTOP');
    try {
      expect(await killSubscriberOf(store, a.process.pid!)).toBeGreaterThan(0);
      const taken = await echo(b.url, sessionId, 'while-frozen');
      expect(taken).toMatchObject({ ok: true });
      const idB = await store.get(keys.sessionInstance(sessionId));
      expect(idB).not.toBe(idA);
      expect(await store.get(keys.instanceLease(idA))).toBeNull();
    } finally {
      a.process.kill('SIGCONT');
    }

    // A resumes: its subscriber comes back with the session's channel, its heartbeat finds its
    // lease revoked; the session confirms who runs it and A leaves it. One owner again.
    const channel = channels.toServer(sessionId);
    const deadline = Date.now() + 5000;
    while (!logsA.some((line) => line.includes('left to it') && line.includes(sessionId)) && Date.now() < deadline) await sleep(100);
    expect(logsA.filter((line) => line.includes('left to it'))).toEqual([expect.stringContaining(sessionId)]);
    expect(await shardSubscribers(store, channel)).toBe(1);
    expect(await store.get(keys.instanceLease(idA))).not.toBeNull(); // A lives on, with a new lease
    for (const [n, url] of [a.url, b.url].entries()) expect((await echo(url, sessionId, `after-${n}`)).ok).toBe(true);
    expect(await shardSubscribers(store, channel)).toBe(1);
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  });
});
