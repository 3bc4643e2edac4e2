/**
 * Sessions that survive: the Redis server restarts (losing every key) under a
 * load of echo calls. While it is down /mcp answers 503 with a JSON-RPC body and
 * Retry-After, /ready is 503 and the processes stay up. Once it is back, the
 * instances re-register the sessions they run: existing sessions carry on with
 * the same ids, new sessions work, and Redis holds exactly the subscriptions the
 * live sessions need.
 *
 * Each test runs on a Redis of the suite's own, one node and then a cluster:
 *  - one Redis node: "restart" kills the redis-server (SIGKILL) and starts it again on
 *    its port, with no data; "frozen" is SIGSTOP of the server;
 *  - a Redis Cluster (3 masters, 3 replicas): "restart" kills every node at once and
 *    starts each again on its port with its cluster config file — the same nodes, slots
 *    and roles, no data — as a whole cluster restarted without persistence (or after a
 *    power cut) would come back; "frozen" is SIGSTOP of every node (no failover can
 *    happen meanwhile). The loss of one master, whose replica takes over, is
 *    test/cluster.test.ts's. The subscriber faults hit the edge's pub/sub connection(s)
 *    to the node serving the session's slot.
 * Subscriptions are counted over every node of the cluster.
 */
import { channels, keys } from '../src/protocol/channels.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { openSession, post, sseMessages, sseReader, toolCall, waitUntil } from './support/raw-mcp.js';
import { streamChannels, subscribedChannels } from './support/redis-subscriptions.js';
import { connectAdmin, instanceIdOfChild, sleep, type NodeAdmin, type RedisAdmin } from './support/survival-helpers.js';
import { survivalRedisCases, type SurvivalRedis } from './support/survival-redis.js';

const SETTINGS = { SUBSCRIPTION_GRACE_MS: '100', REQUEST_TIMEOUT_S: '3', INSTANCE_LEASE_TTL_MS: '3000' };
const DOWN_MS = 2500;

interface Answer {
  at: number;
  end?: number;
  sessionId: string;
  target: string;
  status?: number;
  retryAfter?: string | null;
  contentType?: string | null;
  body?: string;
  error?: string;
  ok?: boolean;
}

async function probe(url: string): Promise<number | string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.text();
    return response.status;
  } catch (error) {
    return (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  }
}

describe.each(survivalRedisCases())('Redis restarted under traffic, on %s', (_name, start, topology) => {

  let redis: SurvivalRedis;
  let admin: RedisAdmin;
  let a: ChildInstance;
  let b: ChildInstance;
  /** Stops the test's load and probe loops (also when the test failed half-way). */
  let stopLoops = () => {};

  beforeAll(async () => {
    redis = await start();
    admin = await connectAdmin(redis.target);
    const startChild = () => startChildInstance(undefined, { ...redis.env, ...SETTINGS });
    [a, b] = await Promise.all([startChild(), startChild()]);
  });

  afterAll(async () => {
    stopLoops();
    await Promise.allSettled([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    await admin?.close().catch(() => undefined);
    await redis?.stop();
  });

  const subscriptions = () => subscribedChannels(admin);

  /**
   * Each live session's two channels, and each instance's fixed ones: the change-event channel (2026-07-28
   * listen streams), the census ask channel and the instance's own census reply channel ("my sessions").
   */
  let instanceIds: string[] = [];
  const sessionChannels = (ids: string[]) => [
    ...ids.flatMap((id) => [channels.toServer(id), channels.control(id)]),
    channels.changeEvents,
    channels.censusAsk,
    ...instanceIds.flatMap((id) => [channels.censusReplies(id), channels.instanceAlive(id)]),
  ];

  test('Redis restarted under load: 503 + Retry-After while down, then old and new sessions work and no subscription leaks', async () => {
    const [idA, idB] = await Promise.all([instanceIdOfChild(admin, a), instanceIdOfChild(admin, b)]);
    instanceIds = [idA, idB];
    const owners = new Map<string, string>();
    for (const [server, id] of [[a, idA], [a, idA], [b, idB]] as const) owners.set(await openSession(server.url), id);
    const sessions = [...owners.keys()];

    // Baseline: every subscription is one of a live session's two channels (the owner's); no stream's channel lingers.
    await waitUntil(async () => (await streamChannels(admin)).length === 0, 3000, 'no stream subscriptions before the restart');
    const baseline = await subscriptions();
    expect(baseline.channels).toEqual([...sessionChannels(sessions)].sort());

    // Load: each session makes sequential echo calls, alternately through A and B.
    const answers: Answer[] = [];
    let stop = false;
    let probing = true;
    stopLoops = () => {
      stop = true;
      probing = false;
    };
    const loops = sessions.map(async (sessionId, s) => {
      const until = Date.now() + 30_000;
      for (let i = 0; !stop && Date.now() < until && i < 2000; i++) {
        const target = (i + s) % 2 === 0 ? a.url : b.url;
        const answer: Answer = { at: Date.now(), sessionId, target };
        try {
          const response = await fetch(`${target}/mcp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
            body: JSON.stringify(toolCall(i, 'echo', { message: `${s}/${i}` })),
            signal: AbortSignal.timeout(8000),
          });
          answer.status = response.status;
          answer.retryAfter = response.headers.get('retry-after');
          answer.contentType = response.headers.get('content-type');
          answer.body = await response.text();
          answer.ok =
            response.status === 200 && sseMessages(answer.body).at(-1)?.result?.content?.[0]?.text === `Echo: ${s}/${i}`;
        } catch (error) {
          answer.error = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        }
        answer.end = Date.now();
        answers.push(answer);
        await sleep(answer.ok ? 20 : 100);
      }
    });
    await sleep(500);
    expect(answers.filter((x) => x.ok).length).toBeGreaterThan(0);

    // Restart Redis; watch /ready and /health meanwhile.
    const probes: Array<{ at: number; name: string; url: string; result: number | string }> = [];
    const prober = (async () => {
      while (probing) {
        for (const [name, server] of [['A', a], ['B', b]] as const) {
          for (const path of ['/ready', '/health']) probes.push({ at: Date.now(), name, url: path, result: await probe(`${server.url}${path}`) });
        }
        await sleep(100);
      }
    })();
    // A request stream that its client abandons while Redis is down: its edge must release
    // the stream's subscription then, or once Redis is back.
    const abandon = new AbortController();
    const abandoned = post(b.url, sessions[0]!, toolCall('abandoned', 'longRunningOperation', { duration: 20, steps: 20 }), abandon.signal)
      .then((response) => response.text())
      .catch((error: Error) => error.name);
    await sleep(300);
    const downAt = Date.now();
    const restarted = redis.restart(DOWN_MS);
    await sleep(400);
    abandon.abort();
    expect(await abandoned).toBe('AbortError');
    await restarted;
    const upAt = Date.now();

    // Recovery: both ready again, and every session answers through both instances.
    await waitUntil(
      async () => (await probe(`${a.url}/ready`)) === 200 && (await probe(`${b.url}/ready`)) === 200,
      10_000,
      'both instances ready after the restart',
    );
    await waitUntil(
      () => sessions.every((id) => [a.url, b.url].every((t) => answers.filter((x) => x.sessionId === id && x.target === t && x.at > upAt && x.ok).length >= 3)),
      15_000,
      'every session served through both instances after the restart',
    );
    stop = true;
    probing = false;
    await Promise.all([...loops, prober]);

    // While down: at least one 503 with a JSON-RPC error body and Retry-After.
    const failures = answers.filter((x) => !x.ok);
    const unavailable = failures.filter((x) => x.status === 503 && x.at >= downAt && x.at <= upAt);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const x of failures.filter((f) => f.status === 503)) {
      expect(x.retryAfter).toBe('1');
      expect(x.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(x.body!)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expect.any(Number), message: expect.any(String) } });
    }
    // No existing session was ever declared gone, and nothing failed but with a 503 — except calls
    // in flight when Redis stopped, whose replies could not travel: those end with a JSON-RPC error
    // on their stream by the request deadline (3 s), never hang.
    expect(failures.filter((x) => x.status === 404).map((x) => ({ at: x.at - upAt, sessionId: x.sessionId, target: x.target }))).toEqual([]);
    const inFlightAtStop = (x: Answer) => x.at <= downAt + 50 && x.status === 200 && sseMessages(x.body!).at(-1)?.error?.code !== undefined;
    for (const x of failures.filter(inFlightAtStop)) expect(x.end! - x.at).toBeLessThan(3000 + 1500);
    expect(
      failures
        .filter((x) => x.status !== 503 && !inFlightAtStop(x))
        .map((x) => ({ at: x.at - upAt, status: x.status, error: x.error, body: x.body?.slice(0, 200) })),
    ).toEqual([]);

    // /ready: 503 while down, 200 after; /health answered throughout; the processes stayed up.
    for (const name of ['A', 'B']) {
      const ready = probes.filter((p) => p.name === name && p.url === '/ready');
      expect(ready.some((p) => p.at > downAt && p.at < upAt - 200 && p.result === 503)).toBe(true);
      expect(probes.filter((p) => p.name === name && p.url === '/health').every((p) => p.result === 200)).toBe(true);
    }
    expect(a.process.exitCode).toBeNull();
    expect(b.process.exitCode).toBeNull();

    // The owners wrote their sessions' keys again; nothing moved (no instance died).
    for (const [id, owner] of owners) {
      expect(await admin.get(keys.sessionOwner(id))).not.toBeNull();
      expect(await admin.get(keys.sessionInstance(id))).toBe(owner);
    }

    // New sessions work, on both instances, driven through the other one.
    const fresh = [await openSession(a.url), await openSession(b.url)];
    for (const [i, id] of fresh.entries()) {
      const reply = await post(i === 0 ? b.url : a.url, id, toolCall(1, 'echo', { message: 'fresh' }));
      expect(sseMessages(await reply.text()).at(-1)?.result.content[0].text).toBe('Echo: fresh');
    }

    // Each session is run by exactly one instance: one subscriber on its toserver channel.
    const numsub = await admin.pubSubShardNumSub([...sessions, ...fresh].map((id) => channels.toServer(id)));
    for (const count of Object.values(numsub)) expect(Number(count)).toBe(1);

    // No leaked subscription: once the edges' grace has passed, exactly each live session's two
    // channels (and the instances' own), no stream's channel (none is open) and no pattern.
    const expected = sessionChannels([...sessions, ...fresh]);
    const leaks = async () => {
      const now = await subscriptions();
      return {
        patterns: now.patterns,
        extra: now.channels.filter((c) => !expected.includes(c)),
        missing: expected.filter((c) => !now.channels.includes(c)),
      };
    };
    const clean = { patterns: 0, extra: [], missing: [] };
    await waitUntil(async () => JSON.stringify(await leaks()) === JSON.stringify(clean), 5000, 'subscriptions back to the live sessions only').catch(
      () => undefined,
    );
    expect(await leaks()).toEqual(clean);
  }, 60_000);

  test('after a Redis restart, a session whose owner has not reconnected yet gets 503 (retry), not 404, then carries on', async () => {
    const sessionId = await openSession(a.url);
    const echo = async (target: string, message: string) => {
      const response = await post(target, sessionId, toolCall(message, 'echo', { message }));
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
    };
    expect(sseMessages((await echo(b.url, 'before')).body).at(-1)?.result?.content?.[0]?.text).toBe('Echo: before');

    // The owner is frozen while Redis restarts empty: B reconnects first and finds no keys for the session.
    a.process.kill('SIGSTOP');
    try {
      await redis.restart(200);
      await waitUntil(async () => (await probe(`${b.url}/ready`)) === 200, 10_000, 'B ready after the restart');
      const early = await echo(b.url, 'too early');
      expect(early.status).toBe(503);
      expect(early.retryAfter).toBe('1');
      expect(JSON.parse(early.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expect.any(Number) } });
    } finally {
      a.process.kill('SIGCONT');
    }

    // The owner reconnects, writes the session's keys again, and the session goes on through B.
    let last: { status: number; body: string } | undefined;
    await waitUntil(
      async () => {
        last = await echo(b.url, 'after');
        return last.status === 200;
      },
      10_000,
      'the session answers through B once its owner re-registered',
    );
    expect(sseMessages(last!.body).at(-1)?.result?.content?.[0]?.text).toBe('Echo: after');
  }, 30_000);

  test('Redis frozen mid-traffic: a request routed meanwhile ends at its deadline with a JSON-RPC error; all resumes after', async () => {
    const sessionId = await openSession(a.url);
    // A long call keeps the session's stream subscription (and its verification) alive on A.
    const long = new AbortController();
    const running = post(a.url, sessionId, toolCall('long', 'longRunningOperation', { duration: 20, steps: 20 }), long.signal).catch(() => undefined);
    await sleep(300);
    redis.signal('SIGSTOP');
    try {
      const started = Date.now();
      const response = await post(a.url, sessionId, toolCall('frozen', 'echo', { message: 'frozen' }), AbortSignal.timeout(8000));
      const last = sseMessages(await response.text()).at(-1);
      const took = Date.now() - started;
      expect(response.status).toBe(200);
      expect(last).toMatchObject({ id: 'frozen', error: { code: -32001 } });
      // REQUEST_TIMEOUT_S is 3: counted from the request's arrival, not from when routing finished.
      expect(took).toBeGreaterThanOrEqual(2900);
      expect(took).toBeLessThan(4500);
    } finally {
      redis.signal('SIGCONT');
      long.abort();
      await running;
    }
    await waitUntil(
      async () => {
        const response = await post(a.url, sessionId, toolCall('thawed', 'echo', { message: 'thawed' }));
        return sseMessages(await response.text()).at(-1)?.result?.content?.[0]?.text === 'Echo: thawed';
      },
      10_000,
      'the session answers once Redis runs again',
    );
    expect(a.process.exitCode).toBeNull();
  }, 30_000);

  /** The node serving a session's slot (on one Redis node, that node). */
  const nodeOfSession = (sessionId: string) => admin.nodeOf(channels.toServer(sessionId));

  /**
   * The ids (CLIENT LIST) of a child instance's pub/sub connections to a node, found by the name it
   * gives them: on one Redis node, its subscriber connection; on a cluster's node serving a session,
   * its connection for that shard (and the one for its classic channels, if they are on that node;
   * on a cluster every connection of a process bears the same name, `…:commands`).
   */
  async function subscribersOf(node: NodeAdmin, child: ChildInstance): Promise<string[]> {
    const clients = String(await node.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
    const lines = clients.split('\n').filter((l) => l.includes(`name=mcp:`) && l.includes(`:${child.process.pid}:`));
    if (lines.length === 0) throw new Error(`no subscriber connection of pid ${child.process.pid} in CLIENT LIST`);
    return lines.map((line) => /\bid=(\d+)/.exec(line)![1]!);
  }

  /**
   * Cuts a child's subscriber connection (to the node serving the session) and keeps it from
   * reconnecting for `awayMs` (Redis refuses new connections while maxclients is reached); runs
   * `meanwhile` during that time. Everything published to the child then is lost on the wire.
   */
  async function subscriberAway(child: ChildInstance, sessionId: string, awayMs: number, meanwhile: () => Promise<void> = async () => {}): Promise<void> {
    const node = await nodeOfSession(sessionId);
    const ids = await subscribersOf(node, child);
    const { maxclients: limit = '10000' } = await node.configGet('maxclients');
    const connected = Number(/connected_clients:(\d+)/.exec(String(await node.sendCommand(['INFO', 'clients'])))![1]);
    await node.sendCommand(['CONFIG', 'SET', 'maxclients', String(connected - ids.length)]);
    try {
      for (const id of ids) await node.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      const until = Date.now() + awayMs;
      await meanwhile();
      await sleep(until - Date.now());
      // Still away: its reconnection attempts were refused.
      await expect(subscribersOf(node, child)).rejects.toThrow(/no subscriber connection/);
    } finally {
      await node.sendCommand(['CONFIG', 'SET', 'maxclients', limit]);
    }
  }

  test('messages published while the edge\u2019s subscriber is away still reach the request\u2019s stream, in order, from the event log', async () => {
    const sessionId = await openSession(a.url);
    const started = Date.now();
    // 8 progress notifications, one every 250 ms, then the result: B streams them, A (the owner) runs the tool.
    const response = await post(b.url, sessionId, toolCall('long', 'longRunningOperation', { duration: 2, steps: 8 }, 'tok'));
    expect(response.status).toBe(200);
    const stream = sseReader(response);
    const first = await stream.next();
    expect(first?.params?.progress).toBe(1);
    // From ~250 ms to ~1250 ms B hears nothing: progress 2 to 5 are published into the void.
    await subscriberAway(b, sessionId, 1000);
    const rest: Array<Record<string, any>> = [];
    for (let message = await stream.next(); message; message = await stream.next()) rest.push(message);
    const progress = rest.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
    expect(progress).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(rest.at(-1)?.result?.content?.[0]?.text).toMatch(/Long running operation completed/);
    // Well before the deadline (3 s): nothing waited for a message it could not hear.
    expect(Date.now() - started).toBeLessThan(2900);
  }, 30_000);

  test('messages published while the edge\u2019s subscriber is away still reach the standalone stream', async () => {
    const sessionId = await openSession(a.url);
    const get = await fetch(`${b.url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } });
    expect(get.status).toBe(200);
    const stream = sseReader(get);
    try {
      // Both list changes are published by A while B cannot hear them.
      await subscriberAway(b, sessionId, 800, async () => {
        const toggled = await post(a.url, sessionId, toolCall('toggle', 'toggle-dynamic-features', { enabled: true }));
        expect(sseMessages(await toggled.text()).at(-1)?.result?.content?.[0]?.text).toMatch(/^Added/);
      });
      const methods: string[] = [];
      const deadline = setTimeout(() => void stream.cancel(), 5000);
      while (methods.length < 2) {
        const message = await stream.next();
        if (!message) break;
        if (message.method) methods.push(message.method);
      }
      clearTimeout(deadline);
      expect(methods.sort()).toEqual(['notifications/prompts/list_changed', 'notifications/tools/list_changed']);
    } finally {
      await stream.cancel();
    }
  }, 30_000);

  test('the edge\u2019s subscriber connection drops: requests through it are refused (503) until it is back, never left waiting for a reply it cannot hear', async () => {
    const sessionId = await openSession(a.url);
    const warm = await post(b.url, sessionId, toolCall('warm', 'echo', { message: 'warm' }));
    expect(sseMessages(await warm.text()).at(-1)?.result?.content?.[0]?.text).toBe('Echo: warm');
    // B's subscriber goes; A, the owner, keeps its own.
    const node = await nodeOfSession(sessionId);
    for (const id of await subscribersOf(node, b)) await node.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    // B reconnects after 100 ms at the earliest. A request now is refused, or (when B has not yet
    // seen its connection go) routed, and its answer read from the event log once B is back.
    const started = Date.now();
    const during = await post(b.url, sessionId, toolCall('during', 'echo', { message: 'during' }));
    const body = await during.text();
    expect(`${during.status} after ${Date.now() - started} ms: ${body.slice(0, 120)}`).toMatch(/^(503|200) after \d+ ms/);
    if (during.status === 200) expect(sseMessages(body).at(-1)?.result?.content?.[0]?.text).toBe('Echo: during');
    else expect(during.headers.get('retry-after')).toBe('1');
    expect(Date.now() - started).toBeLessThan(1000);
    // Once B's subscriber is back, the session answers through B again.
    await waitUntil(
      async () => sseMessages(await (await post(b.url, sessionId, toolCall(`after-${Date.now()}`, 'echo', { message: 'after' }))).text()).at(-1)?.result?.content?.[0]?.text === 'Echo: after',
      5000,
      'the session answers through B again',
    );
  }, 30_000);
});
