/**
 * The service on a Redis Cluster (3 masters, 3 replicas): a session lives in one
 * hash slot, a tool call crossing instances costs at most 5 commands, all of them
 * on the session's shard and none broadcast, and no command ever spans slots
 * (CROSSSLOT) on any node over the whole run. A master killed with SIGKILL while
 * sessions are live: its replica is promoted and the same sessions go on.
 */
import { jest } from '@jest/globals';
import { channels, keys } from '../src/protocol/channels.js';
import type { RunningServer } from '../src/server.js';
import { keySlot, masterOf, masters, nodeClient } from './support/cluster-nodes.js';
import { startInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, sseReader, toolCall, waitUntil } from './support/raw-mcp.js';
import { startPrivateCluster, type PrivateCluster } from './support/redis-cluster.js';

jest.setTimeout(90_000);

/** Calls and errors per command name on one node (INFO commandstats, errorstats). */
async function stats(port: number): Promise<{ calls: Record<string, number>; errors: Record<string, number> }> {
  const client = await nodeClient(port);
  try {
    const calls: Record<string, number> = {};
    for (const [, name, count] of (await client.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) calls[name!] = Number(count);
    const errors: Record<string, number> = {};
    for (const [, name, count] of (await client.info('errorstats')).matchAll(/errorstat_([^:]+):count=(\d+)/g)) errors[name!] = Number(count);
    return { calls, errors };
  } finally {
    await client.close();
  }
}

const echo = async (url: string, sessionId: string, id: number | string) => {
  const response = await post(url, sessionId, toolCall(id, 'echo', { message: `call ${id}` }));
  return { status: response.status, text: sseMessages(await response.text()).at(-1)?.result?.content?.[0]?.text as string | undefined };
};

describe("on the run's Redis Cluster", () => {
  const seeds = () => process.env.TEST_REDIS_CLUSTER_NODES!;
  const ports = () => seeds().split(',').map((url) => Number(new URL(url).port));
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startInstance(undefined, { REDIS_CLUSTER_NODES: seeds() }),
      startInstance(undefined, { REDIS_CLUSTER_NODES: seeds() }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("every key and channel of a session hashes to the session's slot", async () => {
    const sessionId = await openSession(a.url);
    expect((await echo(b.url, sessionId, 1)).text).toBe('Echo: call 1');
    const port = ports()[0]!;
    const slot = await keySlot(port, `{${sessionId}}`);
    const names = [
      ...Object.values(keys)
        .filter((name): name is (id: string) => string => typeof name === 'function' && name.length === 1)
        .filter((name) => !['instanceLease', 'userSessions'].includes(name.name))
        .map((name) => name(sessionId)),
      keys.sessionOwner(sessionId),
      keys.sessionEvents(sessionId),
      channels.toServer(sessionId),
      channels.toClient(sessionId, 'n:1'),
      channels.control(sessionId),
      channels.sseToClient(sessionId),
      channels.tap(sessionId),
    ];
    for (const name of names) expect([name, await keySlot(port, name)]).toEqual([name, slot]);
  });

  test("a tool call crossing instances costs at most 5 commands, all on the session's shard, none broadcast", async () => {
    const sessionId = await openSession(a.url);
    expect((await echo(b.url, sessionId, 1)).text).toBe('Echo: call 1'); // warm: B's session channel
    const shard = await masterOf(ports()[0]!, await keySlot(ports()[0]!, `{${sessionId}}`));
    const all = [...(await masters(ports()[0]!)).keys()];
    const before = await Promise.all(all.map(stats));
    const calls = 40;
    for (let i = 0; i < calls; i++) expect((await echo(b.url, sessionId, 10 + i)).text).toBe(`Echo: call ${10 + i}`);
    const after = await Promise.all(all.map(stats));
    const delta = (i: number, name: string) => (after[i]!.calls[name] ?? 0) - (before[i]!.calls[name] ?? 0);
    const total = (i: number) => Object.keys(after[i]!.calls).reduce((sum, name) => sum + delta(i, name), 0) - delta(i, 'info');
    const onShard = all.indexOf(shard);
    // The calls' own commands: SSUBSCRIBE, SPUBLISH, RPUSHX, SPUBLISH, SUNSUBSCRIBE, on the shard.
    for (const name of ['spublish', 'ssubscribe', 'sunsubscribe', 'rpushx']) expect(delta(onShard, name)).toBeGreaterThanOrEqual(calls);
    expect(delta(onShard, 'spublish')).toBeLessThanOrEqual(2 * calls + 2);
    // Everything else the instances do meanwhile (lease renewals, sweeps) is a few commands a second.
    const elsewhere = all.reduce((sum, _port, i) => sum + (i === onShard ? 0 : total(i)), 0);
    expect((total(onShard) + elsewhere) / calls).toBeLessThanOrEqual(5.5);
    // Nothing was broadcast to every node: no classic PUBLISH for a call.
    expect(all.reduce((sum, _port, i) => sum + delta(i, 'publish'), 0)).toBeLessThanOrEqual(2);
  });

  test('no node ever answered CROSSSLOT: no command of the run spans hash slots', async () => {
    // Cumulative since the cluster started: every suite of the run that used it counts.
    for (const port of ports()) expect([port, (await stats(port)).errors.CROSSSLOT ?? 0]).toEqual([port, 0]);
  });
});

/**
 * A cluster of the suite's own (its faults must not reach the other suites'), and two instances
 * on it, started before the enclosing describe's tests and stopped after them.
 */
function privateClusterForSuite(): { cluster: PrivateCluster; a: RunningServer; b: RunningServer } {
  const own = {} as { cluster: PrivateCluster; a: RunningServer; b: RunningServer };
  beforeAll(async () => {
    own.cluster = await startPrivateCluster();
    const env = { REDIS_CLUSTER_NODES: own.cluster.nodes.join(','), REQUEST_TIMEOUT_S: '10' };
    [own.a, own.b] = await Promise.all([startInstance(undefined, env), startInstance(undefined, env)]);
  });
  afterAll(async () => {
    await Promise.all([own.a?.stop(), own.b?.stop()]);
    await own.cluster?.stop();
  });
  return own;
}

describe('a master killed with SIGKILL while sessions are live', () => {
  const own = privateClusterForSuite();

  test("the session's master dies: its replica takes over, and the same session goes on through both instances", async () => {
    const sessionId = await openSession(own.a.url);
    expect((await echo(own.b.url, sessionId, 1)).text).toBe('Echo: call 1');
    // A GET stream is open on B while the master goes.
    const controller = new AbortController();
    const standalone = await fetch(`${own.b.url}/mcp`, { headers: { ...mcpHeaders(undefined, sessionId), accept: 'text/event-stream' }, signal: controller.signal });
    expect(standalone.status).toBe(200);
    const reader = sseReader(standalone);

    // And a call is running when the master goes.
    const running = post(own.a.url, sessionId, toolCall('long', 'longRunningOperation', { duration: 2, steps: 4 })).then(async (response) => ({
      status: response.status,
      last: sseMessages(await response.text()).at(-1),
    }));
    await new Promise((resolve) => setTimeout(resolve, 300));

    const alive = own.cluster.ports;
    const shard = await masterOf(alive[0]!, await keySlot(alive[0]!, `{${sessionId}}`));
    // Readiness while one shard fails over: the instances' other node connections are up, so
    // neither leaves the load balancer's rotation (only a cluster with no node reachable does).
    const readiness: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        for (const url of [own.a.url, own.b.url]) readiness.push((await fetch(`${url}/ready`)).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const killedAt = Date.now();
    await own.cluster.kill(shard);
    const survivor = alive.find((port) => port !== shard)!;

    // Until the replica is promoted, calls may be refused (503: retry); none may hang, none may crash an instance.
    let id = 100;
    let answered: { status: number; text: string | undefined } | undefined;
    await waitUntil(
      async () => {
        answered = await echo(id % 2 ? own.a.url : own.b.url, sessionId, id);
        id += 1;
        return answered.text === `Echo: call ${id - 1}`;
      },
      30_000,
      'the session answering again after the failover',
    );
    const recoveredMs = Date.now() - killedAt;
    probing = false;
    await prober;
    expect(readiness.length).toBeGreaterThan(4);
    expect(readiness.filter((status) => status !== 200)).toEqual([]);
    // The call that was running ends, answered or with a JSON-RPC error the client can retry on: it never hangs.
    const ended = await running;
    expect(ended.status).toBe(200);
    expect(ended.last).toMatchObject({ id: 'long' });
    // The replica now serves the slot.
    expect(await masterOf(survivor, await keySlot(survivor, `{${sessionId}}`))).not.toBe(shard);
    // Through both instances, same session id.
    for (const [n, url] of [own.a.url, own.b.url].entries()) expect((await echo(url, sessionId, `after-${n}`)).text).toBe(`Echo: call after-${n}`);
    // Both instances stayed up, and a new session works too.
    const fresh = await openSession(own.b.url);
    expect((await echo(own.a.url, fresh, 1)).text).toBe('Echo: call 1');
    controller.abort();
    await reader.cancel();
    expect(recoveredMs).toBeLessThan(30_000);
  });
});

describe('slots migrated under traffic (redis-cli --cluster reshard)', () => {
  const own = privateClusterForSuite();

  test("every slot of the session's master moves to another master while calls run: every call is answered", async () => {
    const sessionId = await openSession(own.a.url);
    const port = own.cluster.ports[0]!;
    const from = await masterOf(port, await keySlot(port, `{${sessionId}}`));
    const to = [...(await masters(port)).keys()].find((p) => p !== from)!;
    const idOf = async (p: number) => {
      const client = await nodeClient(p);
      try {
        return String(await client.sendCommand(['CLUSTER', 'MYID']));
      } finally {
        await client.close();
      }
    };
    const slots = (await masters(port)).get(from)!.reduce((sum, [x, y]) => sum + (y - x + 1), 0);

    let stop = false;
    const answers: Array<{ status: number; ok: boolean; ms: number }> = [];
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const url = i % 2 ? own.a.url : own.b.url;
        const started = Date.now();
        const { status, text } = await echo(url, sessionId, 1000 + i);
        answers.push({ status, ok: text === `Echo: call ${1000 + i}`, ms: Date.now() - started });
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    await promisify(execFile)('redis-cli', [
      '--cluster', 'reshard', `127.0.0.1:${port}`,
      '--cluster-from', await idOf(from), '--cluster-to', await idOf(to), '--cluster-slots', String(slots), '--cluster-yes',
    ], { maxBuffer: 64 * 1024 * 1024 });
    expect(await masterOf(port, await keySlot(port, `{${sessionId}}`))).toBe(to);
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop = true;
    await traffic;
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((answer) => !answer.ok)).toEqual([]);
    // A reply published while its stream's channel followed the slot is read from the event log: late, not lost.
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(5000);
    // And after it, through both instances.
    for (const [n, url] of [own.a.url, own.b.url].entries()) expect((await echo(url, sessionId, `after-${n}`)).text).toBe(`Echo: call after-${n}`);
  });
});
