/**
 * Fault tests: clients that abort, reuse ids or publish garbage, deadlines, and an
 * owner instance killed mid-call (its session carries on elsewhere). Each asserts the process keeps serving and that
 * nothing leaks (Redis subscriptions return to their baseline).
 */
import { connect } from 'node:net';
import { createClient } from 'redis';
import type { RunningServer } from '../src/server.js';
import { channels } from '../src/protocol/channels.js';
import { startChildInstance, startInstance, type ChildInstance } from './support/instances.js';
import { openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { streamChannels, subscribedChannels } from './support/redis-subscriptions.js';

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;

/** Channels (classic and sharded) plus patterns subscribed on the whole Redis server. */
async function redisSubscriptions(): Promise<number> {
  const { channels, patterns } = await subscribedChannels(admin);
  return channels.length + patterns;
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await redis?.stop();
});

describe('in-process instances on one Redis', () => {
  let owner: RunningServer;
  let edge: RunningServer;

  beforeAll(async () => {
    // The aborted calls below still run on the owner (a disconnect is not a cancellation): the
    // session's in-flight bound leaves room for the calls made right after them.
    const settings = { SUBSCRIPTION_GRACE_MS: '100', REQUEST_TIMEOUT_S: '2', MAX_INFLIGHT_PER_SESSION: '200' };
    owner = await startInstance(redis.url, settings);
    edge = await startInstance(redis.url, settings);
  });

  afterAll(async () => {
    await Promise.all([owner?.stop(), edge?.stop()]);
  });

  test('100 in-flight requests aborted by the client: process alive, subscriptions back to baseline', async () => {
    const sessionId = await openSession(owner.url);
    // Baseline: the owner's two session channels, and no stream subscription lingering anywhere.
    await waitUntil(async () => (await streamChannels(admin)).length === 0, 3000, 'no stream subscriptions');
    const baseline = await redisSubscriptions();
    // The edge's own subscriptions before the calls: the instance's change-event channel.
    const edgeBaseline = edge.runtime.backend.bus.subscriptionCount();

    const controllers = Array.from({ length: 100 }, () => new AbortController());
    const calls = controllers.map((controller, i) =>
      post(edge.url, sessionId, toolCall(1000 + i, 'longRunningOperation', { duration: 1.5, steps: 3 }), controller.signal)
        .then((response) => response.text())
        .catch((error: Error) => error.name),
    );
    await waitUntil(() => owner.runtime.host.size > 0 && edge.runtime.backend.bus.subscriptionCount() > edgeBaseline, 3000, 'calls in flight');
    await new Promise((r) => setTimeout(r, 200));
    for (const controller of controllers) controller.abort();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'AbortError').length).toBeGreaterThan(90);

    await waitUntil(async () => (await redisSubscriptions()) === baseline, 5000, 'subscriptions back to baseline');
    expect(edge.runtime.backend.bus.subscriptionCount()).toBe(edgeBaseline);

    // Still serving this session and others.
    const reply = await post(edge.url, sessionId, toolCall(1, 'echo', { message: 'after aborts' }));
    expect(sseMessages(await reply.text())[0]?.result.content[0].text).toBe('Echo: after aborts');
    const other = await openSession(edge.url);
    const fresh = await post(owner.url, other, toolCall(1, 'echo', { message: 'new user' }));
    expect(sseMessages(await fresh.text())[0]?.result.content[0].text).toBe('Echo: new user');
  });

  test('clients that announce a body and disconnect halfway through it: nothing published, the process keeps serving', async () => {
    const sessionId = await openSession(owner.url);
    const watcher = admin.duplicate();
    await watcher.connect();
    const routed: unknown[] = [];
    await watcher.sSubscribe(channels.toServer(sessionId), (raw) => routed.push((JSON.parse(raw) as { message: { id?: unknown } }).message.id));
    const url = new URL(edge.url);
    const body = JSON.stringify(toolCall('half', 'echo', { message: 'never complete' }));
    await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(url.port), url.hostname, () => {
            socket.write(
              `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json, text/event-stream\r\n` +
                `Content-Type: application/json\r\nMcp-Session-Id: ${sessionId}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 25)}`,
            );
            setTimeout(() => socket.destroy(), 50);
          });
          socket.on('close', () => resolve());
          socket.on('error', () => undefined);
        }),
      ),
    );
    await waitUntil(() => edge.runtime.requests.active === 0, 3000, 'no request left open');
    const reply = await post(edge.url, sessionId, toolCall(2, 'echo', { message: 'whole' }));
    expect(sseMessages(await reply.text())[0]?.result.content[0].text).toBe('Echo: whole');
    // Only the complete call was routed to the session: nothing half-read.
    await waitUntil(() => routed.length > 0, 2000, 'the complete call seen on the bus');
    expect(routed).toEqual([2]);
    await watcher.close();
  });

  test('a request id reused while in flight is refused; the first request is unaffected', async () => {
    const sessionId = await openSession(owner.url);
    const first = post(edge.url, sessionId, toolCall(7, 'longRunningOperation', { duration: 0.5, steps: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    const duplicate = await post(owner.url, sessionId, toolCall(7, 'echo', { message: 'dup' }));
    const duplicateMessages = sseMessages(await duplicate.text());
    expect(duplicateMessages).toHaveLength(1);
    expect(duplicateMessages[0]).toMatchObject({ id: 7, error: { code: -32600 } });
    expect(duplicateMessages[0]!.error.message).toMatch(/already in flight/);

    const firstMessages = sseMessages(await (await first).text());
    expect(firstMessages.at(-1)?.result.content[0].text).toMatch(/^Long running operation completed/);
    expect(firstMessages.some((m) => m.error)).toBe(false);

    // Ids 1 and "1" are different requests and may be in flight together.
    const [numeric, textual] = await Promise.all([
      post(edge.url, sessionId, toolCall(1, 'echo', { message: 'number' })).then((r) => r.text()),
      post(edge.url, sessionId, toolCall('1', 'echo', { message: 'string' })).then((r) => r.text()),
    ]);
    expect(sseMessages(numeric)[0]).toMatchObject({ id: 1, result: { content: [{ text: 'Echo: number' }] } });
    expect(sseMessages(textual)[0]).toMatchObject({ id: '1', result: { content: [{ text: 'Echo: string' }] } });
  });

  test('a request past its deadline ends with a JSON-RPC error and releases its subscription', async () => {
    const sessionId = await openSession(owner.url);
    const started = Date.now();
    const response = await post(edge.url, sessionId, toolCall(3, 'longRunningOperation', { duration: 6, steps: 6 }));
    const messages = sseMessages(await response.text());
    const elapsed = Date.now() - started;
    expect(messages.at(-1)).toMatchObject({ id: 3, error: { code: -32001 } });
    expect(elapsed).toBeLessThan(4000);
    // No stream's channel may remain subscribed.
    await waitUntil(async () => (await streamChannels(admin)).length === 0, 3000, 'stream subscription released');
  });

  test('garbage published on a session channel is dropped; the session keeps working', async () => {
    const sessionId = await openSession(owner.url);
    for (const junk of ['not json', '{}', '{"v":1,"type":"message","message":{"nope":true}}', '[]', 'null']) {
      await admin.publish(channels.toServer(sessionId), junk);
      await admin.publish(channels.toClient(sessionId, 'n:1'), junk);
      await admin.publish(channels.control(sessionId), junk);
    }
    // A well-formed envelope claiming another user is refused by the owner too.
    const forged = {
      v: 1,
      type: 'message',
      message: { jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
      principal: { userId: 'mallory', clientId: 'x', scopes: [] },
    };
    await admin.publish(channels.toServer(sessionId), JSON.stringify(forged));
    const reply = await post(edge.url, sessionId, toolCall(1, 'echo', { message: 'fine' }));
    expect(sseMessages(await reply.text())[0]?.result.content[0].text).toBe('Echo: fine');
  });
});

describe('owner instance killed mid-call', () => {
  let a: ChildInstance;
  let b: ChildInstance;

  beforeAll(async () => {
    const settings = { INSTANCE_LEASE_TTL_MS: '2000', REQUEST_TIMEOUT_S: '30' };
    [a, b] = await Promise.all([startChildInstance(redis.url, settings), startChildInstance(redis.url, settings)]);
  });

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
  });

  test('the waiting request ends with an error well within the deadline; the session carries on on the survivor', async () => {
    const sessionId = await openSession(a.url);
    const standalone = await fetch(`${b.url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } });
    expect(standalone.status).toBe(200);
    const standaloneEnded = standalone.text().then(() => Date.now());
    const started = Date.now();
    const pending = post(b.url, sessionId, toolCall(5, 'longRunningOperation', { duration: 20, steps: 20 })).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 500));
    await a.kill('SIGKILL');
    const messages = sseMessages(await pending);
    const elapsed = Date.now() - started;
    expect(messages.at(-1)).toMatchObject({ id: 5, error: { code: -32603 } });
    expect(elapsed).toBeLessThan(10_000);
    // The standalone stream on the survivor ends too, instead of staying open forever.
    expect((await standaloneEnded) - started).toBeLessThan(10_000);

    // The retry, with the same session id and no new initialize, is served by the survivor.
    const later = await post(b.url, sessionId, toolCall(6, 'echo', { message: 'after failover' }));
    expect(later.status).toBe(200);
    expect(sseMessages(await later.text()).at(-1)).toMatchObject({ id: 6, result: { content: [{ text: 'Echo: after failover' }] } });
    expect(b.process.exitCode).toBeNull();
  }, 20_000);
});
