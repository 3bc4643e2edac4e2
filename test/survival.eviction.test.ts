/**
 * Sessions that survive: an idle session leaves its instance's memory
 * (SESSION_EVICT_AFTER_S) but not the store; its next message rebuilds it,
 * transparently to the SDK client (same session id, no new initialize), with
 * its state. On every backend (embedded, Redis, Redis Cluster); the race of a
 * message with its session's eviction, on one Redis node and on a Redis Cluster.
 * Redis stays up throughout: the run's shared Redis and Redis Cluster serve.
 */
import { channels } from '../src/protocol/channels.js';
import type { RunningServer } from '../src/server.js';
import { backendCases } from './support/backends.js';
import { startInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import { connectRouted, routingFetch, sleep, textOf } from './support/survival-helpers.js';

const RESOURCE = 'test://static/resource/1';

describe.each(backendCases({ SESSION_EVICT_AFTER_S: '1', RESOURCE_UPDATE_INTERVAL_MS: '200' }))('idle eviction on %s', (_name, start) => {
  let servers: RunningServer[];

  beforeAll(async () => {
    servers = await start();
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  const holders = (sessionId: string) => servers.filter((s) => s.runtime.host.has(sessionId));

  /** An SDK client whose requests alternate across the instances; it opens no standalone stream. */
  async function connect() {
    let next = 0;
    const fetchLike = routingFetch(() => servers[next++ % servers.length]!.url, { noStandalone: true });
    return connectRouted(servers[0]!.url, fetchLike);
  }

  test('an idle session is evicted from memory, rebuilt by its next message, with its state', async () => {
    const { client, transport, notifications, sent } = await connect();
    const sessionId = transport.sessionId!;
    const infoLogsSince = (since: number) =>
      notifications.filter((n) => n.at >= since && n.method === 'notifications/message' && n.params?.level === 'info');

    // Control: at the default level the tool's step logs (info) arrive.
    let mark = Date.now();
    await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.2, steps: 2 } });
    expect(infoLogsSince(mark)).toHaveLength(2);
    await client.setLoggingLevel('error');
    expect(textOf(await client.callTool({ name: 'toggle-dynamic-features', arguments: { enabled: true } }))).toMatch(/^Added/);
    expect(holders(sessionId)).toHaveLength(1);
    const owner = holders(sessionId)[0]!;
    expect(await owner.runtime.directory.instanceOf(sessionId)).toBe(owner.runtime.instanceId);

    // Idle: after ~2 s no instance holds it, and the store says nobody runs it.
    const idleSince = Date.now();
    await waitUntil(() => !owner.runtime.host.has(sessionId), 4000, 'the owner evicted the idle session');
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(900);
    await sleep(Math.max(0, 2000 - (Date.now() - idleSince)));
    expect(holders(sessionId)).toHaveLength(0);
    expect(await owner.runtime.directory.instanceOf(sessionId)).toBe('');
    expect(await owner.runtime.directory.ownerOf(sessionId)).not.toBeNull();

    // The next call works and returns the right result; one instance runs the session again.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'after eviction' } }))).toBe('Echo: after eviction');
    expect(holders(sessionId)).toHaveLength(1);
    const runner = holders(sessionId)[0]!;
    expect(await runner.runtime.directory.instanceOf(sessionId)).toBe(runner.runtime.instanceId);

    // Same session, no second initialize; its state survived: log level and toggle.
    expect(transport.sessionId).toBe(sessionId);
    expect(sent.filter((r) => r.rpcMethod === 'initialize')).toHaveLength(1);
    mark = Date.now();
    const long = await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.2, steps: 2 } });
    expect(textOf(long)).toBe('Long running operation completed. Duration: 0.2 seconds, Steps: 2.');
    expect(infoLogsSince(mark)).toHaveLength(0);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('dynamic-tool');
    expect(textOf(await client.callTool({ name: 'dynamic-tool', arguments: {} }))).toMatch(/^Hello from dynamic-tool/);

    // Evicted and rebuilt again: the cycle repeats.
    await waitUntil(() => holders(sessionId).length === 0, 4000, 'evicted a second time');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'twice' } }))).toBe('Echo: twice');
    await client.close();
  }, 20_000);

  test('rebuilt after an eviction (nothing left running elsewhere), it answers a resume of a request nobody serves at once', async () => {
    const sessionId = await openSession(servers[0]!.url);
    await (await post(servers[0]!.url, sessionId, toolCall(5, 'echo', { message: 'before' }))).text();
    await waitUntil(() => holders(sessionId).length === 0, 4000, 'the session evicted');
    const started = Date.now();
    const resumed = await fetch(`${servers.at(-1)!.url}/mcp`, {
      headers: { ...mcpHeaders(undefined, sessionId), accept: 'text/event-stream', 'last-event-id': `${Date.now() - 1000}-0~${'0'.repeat(12)}.9~n:99` },
    });
    const messages = sseMessages(await resumed.text());
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 99, error: { code: -32000, message: expect.stringContaining('No stream to resume') } }]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a session evicted while its standalone stream is open is rebuilt knowing a client listens there', async () => {
    let next = 0;
    const fetchLike = routingFetch(() => servers[next++ % servers.length]!.url);
    const { client, transport, notifications, sent } = await connectRouted(servers[0]!.url, fetchLike);
    const sessionId = transport.sessionId!;
    const gets = () => sent.filter((r) => r.httpMethod === 'GET');
    await waitUntil(() => gets().some((r) => r.status === 200), 3000, 'standalone stream open');

    // Quiet, though listened to: it leaves memory; the stream stays open.
    await waitUntil(() => holders(sessionId).length === 0, 4000, 'the idle session evicted');
    expect(gets()).toHaveLength(1);

    // Its next message rebuilds it; it knows the stream is open, so subscribed resources
    // report updates there (they are sent only while a client listens).
    const mark = Date.now();
    await client.subscribeResource({ uri: RESOURCE });
    expect(holders(sessionId)).toHaveLength(1);
    await waitUntil(
      () => notifications.filter((n) => n.at >= mark && n.method === 'notifications/resources/updated' && n.params?.uri === RESOURCE).length >= 2,
      4000,
      'resource updates on the standalone stream after the rebuild',
    );
    expect(gets()).toHaveLength(1);
    await client.close();
  }, 15_000);
});

/** Where the instances of the eviction race meet: the run's shared Redis, or its shared Redis Cluster. */
const sharedRedis: Array<[name: string, where: () => Record<string, string>]> = [
  ['one Redis node', () => ({ REDIS_URL: process.env.TEST_REDIS_URL! })],
  ['a Redis Cluster', () => ({ REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES! })],
];

describe.each(sharedRedis)('a message that arrives while its session is being evicted (two instances on %s)', (_name, where) => {
  let owner: RunningServer;
  let edge: RunningServer;

  beforeAll(async () => {
    const env = { ...where(), SESSION_EVICT_AFTER_S: '1', REQUEST_TIMEOUT_S: '6' };
    [owner, edge] = await Promise.all([startInstance(undefined, env), startInstance(undefined, env)]);
  });

  afterAll(async () => {
    await Promise.all([owner?.stop(), edge?.stop()]);
  });

  // SPUBLISH counts the owner as a receiver until Redis has processed its SUNSUBSCRIBE; whatever
  // reaches the owner meanwhile must be served there (or handed on), neither dropped nor failed.
  test('is served, not lost, when it reaches the owner while the owner unsubscribes', async () => {
    const sessionId = await openSession(owner.url);
    // The owner's UNSUBSCRIBE takes one Redis round trip; under load, longer. Widen that window
    // to 300 ms (white box: the RedisBus's subscriber connection) so that a message lands in it.
    // The runtime's bus counts messages for the metrics; the RedisBus is underneath.
    // A session's channels are sharded: its owner leaves them with SUNSUBSCRIBE.
    const subscriber = ((owner.runtime.backend.bus as unknown as { inner: unknown }).inner as { subscriber: { sUnsubscribe: (...args: unknown[]) => Promise<unknown> } })
      .subscriber;
    const original = subscriber.sUnsubscribe.bind(subscriber);
    let unsubscribeStarted!: () => void;
    const started = new Promise<void>((resolve) => (unsubscribeStarted = resolve));
    subscriber.sUnsubscribe = async (...args: unknown[]) => {
      // Only the owner leaving the session's toserver channel (not an edge's stream channel).
      if (String(args[0]) !== channels.toServer(sessionId)) return original(...args);
      unsubscribeStarted();
      await sleep(300);
      return original(...args);
    };
    try {
      await started; // the idle session is being evicted: its channels are being released
      const sent = Date.now();
      const reply = await post(edge.url, sessionId, toolCall(1, 'echo', { message: 'during eviction' }));
      const messages = sseMessages(await reply.text());
      expect(messages.at(-1)).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'Echo: during eviction' }] } });
      expect(Date.now() - sent).toBeLessThan(3000);
    } finally {
      subscriber.sUnsubscribe = original;
    }
  }, 15_000);
});
