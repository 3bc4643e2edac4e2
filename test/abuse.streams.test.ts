/**
 * Streams a client does not read, and streams by the hundred: what
 * an unread stream may make an instance hold is bounded (STREAM_BUFFER_MAX_BYTES),
 * the client that reads again gets what it missed from the event log, and open
 * streams per user are bounded (MAX_STREAMS_PER_USER). Another user stays served
 * throughout. Over both backends, with authorization on (two users).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { RunningServer } from '../src/server.js';
import { authBackendCases, authDeploymentForSuite, type AuthDeployment } from './support/auth-instances.js';
import { freshUser, freshUserWithId, signIn } from './support/auth-flow.js';
import { startInstance } from './support/instances.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { acceptedSockets, expectServed, rssMB, sampleMax, unreadResponse } from './support/abuse.js';
import { parseSse } from './support/http-raw.js';
import { mcpHeaders, openSession, post, sseMessages, sseReader, toolCall, waitUntil } from './support/raw-mcp.js';
import { keys } from '../src/protocol/channels.js';

const BOUND = 64 * 1024;
/**
 * What one tick writes lands on top of the bound before it is judged (a stream
 * that is read must not be mistaken for one that is not): a bus read, a page of
 * the log, or, embedded, every answer of a batch at once (50 tools/list ≈ 1.7 MB).
 */
const SLACK = 3 * 1024 * 1024;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'abuse', version: '1' } },
};

describe.each(authBackendCases({ STREAM_BUFFER_MAX_BYTES: String(BOUND), MAX_STREAMS_PER_USER: '6' }))('unread and numerous streams on %s', (_name, start) => {
  let deployment: AuthDeployment;
  let A: string;
  let B: string;
  let alice: string;
  let aliceId: string;
  let bob: string;

  beforeAll(async () => {
    deployment = await start();
    A = deployment.urls[0]!;
    B = deployment.urls.at(-1)!;
    aliceId = `alice-${randomUUID()}`;
    alice = (await signIn(deployment.baseUri, aliceId)).tokens.access_token;
    bob = (await signIn(deployment.baseUri, `bob-${randomUUID()}`)).tokens.access_token;
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('an unread legacy stream under a flood of POST /message is cut at its bound; the session ends; memory stays flat; another user is served', async () => {
    const sockets = acceptedSockets(deployment.servers[0]!.http);
    const stream = unreadResponse(A, { method: 'GET', path: '/sse', headers: { accept: 'text/event-stream', ...bearer(alice) } }, /event: endpoint\ndata: [^\n]+\n/);
    const endpoint = /data: (\/message\?sessionId=[^\n]+)\n/.exec((await stream.ready).text)![1]!;
    const rssBefore = rssMB();
    const held = sampleMax(() => sockets.maxBuffered());
    // 50 tools/list per batch: about 1.7 MB of answers each, all for the one stream nobody reads.
    const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/list' })));
    const statuses: number[] = [];
    for (let i = 0; i < 60 && !statuses.includes(404); i++) {
      const response = await fetch(`${B}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(alice) }, body: batch });
      statuses.push(response.status);
      await response.text();
      if (i % 10 === 0) await expectServed(B, bob);
    }
    // The stream was cut, which ended its session: its POSTs now get 404.
    await waitUntil(async () => {
      const response = await fetch(`${B}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(alice) }, body: batch });
      await response.text();
      return response.status === 404;
    }, 10_000, 'the legacy session to end');
    expect(held.stop()).toBeLessThanOrEqual(BOUND + SLACK);
    expect(rssMB() - rssBefore).toBeLessThan(150);
    await expectServed(A, bob);
    stream.close();
    sockets.stop();
  });

  test('open streams per user are bounded (MAX_STREAMS_PER_USER): 429 naming it; another user is served; a closed stream frees its place', async () => {
    const sessionId = await openSession(A, alice);
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const calls = controllers.map((controller, i) =>
      post(B, sessionId, toolCall(100 + i, 'longRunningOperation', { duration: 20, steps: 2 }), controller.signal, alice).then(
        (r) => r.text(),
        () => 'aborted',
      ),
    );
    // Each POST holds a stream on B (the edge) while its call runs.
    await waitUntil(() => deployment.servers.at(-1)!.runtime.streams.held(aliceId) === 6, 5000, 'six open streams');
    const refused = await post(B, sessionId, toolCall(200, 'echo', { message: 'one too many' }), undefined, alice);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await refused.json()) as { error: { code: number; message: string; data: { limit: string } } };
    expect(body.error.code).toBe(-32000);
    expect(body.error.message).toContain('MAX_STREAMS_PER_USER');
    expect(body.error.data.limit).toBe('MAX_STREAMS_PER_USER');
    // The same user on another instance (its own budget there), and another user here, are served.
    await expectServed(B, bob);
    controllers[0]!.abort();
    await waitUntil(() => deployment.servers.at(-1)!.runtime.streams.held(aliceId) === 5, 5000, 'a stream released');
    const admitted = await post(B, sessionId, toolCall(201, 'echo', { message: 'room again' }), undefined, alice);
    expect(sseMessages(await admitted.text())[0]?.result.content[0].text).toBe('Echo: room again');
    for (const controller of controllers) controller.abort();
    await Promise.all(calls);
    await waitUntil(() => deployment.servers.every((s) => s.runtime.streams.held() === 0), 5000, 'every stream released');
  });

  test('a client that reads a burst far larger than the bound in time gets all of it', async () => {
    const sessionId = await openSession(A, alice);
    const batch = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tools/list' }));
    const response = await post(B, sessionId, batch, undefined, alice);
    const answers = sseMessages(await response.text());
    expect(answers).toHaveLength(100);
    expect(answers.every((answer) => Array.isArray(answer.result?.tools))).toBe(true);
  });
});

/** The position of the last complete `id:` line of an SSE text, read from its end. */
function lastPositionIn(text: string): string | undefined {
  const at = text.lastIndexOf('id: ');
  const end = at === -1 ? -1 : text.indexOf('\n', at);
  return end === -1 ? undefined : text.slice(at + 4, end).split('~')[0];
}

/** Positions (in the event log) of the events in an SSE text: `id: {position}~{delivery}~{streamKey}`. */
function positionsIn(text: string): string[] {
  return parseSse(text).flatMap((event) => (event.id && event.data !== '' ? [event.id.split('~')[0]!] : []));
}

describe.each(
  authBackendCases({
    STREAM_BUFFER_MAX_BYTES: String(BOUND),
    // A resource update every 10 ms for each subscribed resource: a stream that fills fast.
    RESOURCE_UPDATE_INTERVAL_MS: '10',
    // A log that holds everything the client misses, so that it can all be read back.
    EVENT_LOG_MAX_EVENTS: '1000000',
    EVENT_LOG_MAX_BYTES: String(256 * 1024 * 1024),
    // Filling the kernel's buffers takes a while on a loaded machine: the stream must not be taken for stalled.
    STREAM_LINGER_S: '300',
  }),
)('a standalone stream nobody reads, on %s', (_name, start) => {
  let deployment: AuthDeployment;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    deployment = await start();
    alice = (await signIn(deployment.baseUri, `alice-${randomUUID()}`)).tokens.access_token;
    bob = (await signIn(deployment.baseUri, `bob-${randomUUID()}`)).tokens.access_token;
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('holds at most its bound in the process; once read again, every message comes, in order, from the event log', async () => {
    const [A, B] = [deployment.urls[0]!, deployment.urls.at(-1)!];
    const edge = deployment.servers.at(-1)!;
    const sessionId = await openSession(A, alice);
    const sockets = acceptedSockets(edge.http);
    const stream = unreadResponse(B, { method: 'GET', path: '/mcp', headers: { ...mcpHeaders(alice, sessionId), accept: 'text/event-stream' } });
    expect((await stream.ready).status).toBe(200);
    const subscribe = Array.from({ length: 100 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method: 'resources/subscribe',
      params: { uri: `test://static/resource/${i + 1}` },
    }));
    expect(sseMessages(await (await post(A, sessionId, subscribe, undefined, alice)).text())).toHaveLength(100);
    // Thousands of updates a second pile up: first in the kernel, then up to the bound here.
    const held = sampleMax(() => sockets.maxBuffered());
    await waitUntil(() => sockets.maxBuffered() > BOUND / 2, 90_000, 'the stream to fill up to its bound');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // and keep coming, unread
    await expectServed(A, bob);
    const unsubscribe = subscribe.map((request) => ({ ...request, method: 'resources/unsubscribe' }));
    await (await post(A, sessionId, unsubscribe, undefined, alice)).text();
    expect(held.stop()).toBeLessThanOrEqual(BOUND + SLACK);

    // The client reads again: everything the log holds for the stream arrives, without a gap.
    const logged = (await edge.runtime.backend.events.after(sessionId, '0-0', '', 10_000_000)).map((e) => e.position);
    let text = '';
    stream.readOn((chunk) => (text += chunk));
    // The log holds whatever the flood produced while the kernel's buffers filled, which on a loaded
    // machine takes long (hundreds of thousands of events): the catch-up gets time in proportion.
    // Probed from the text's end (parsing all of it on every probe would cost more than the catch-up).
    await waitUntil(() => lastPositionIn(text) === logged.at(-1), 60_000 + Math.ceil(logged.length / 2), 'the client to catch up');
    const received = positionsIn(text);
    const fromFirst = logged.slice(logged.indexOf(received[0]!));
    expect(received.length).toBeGreaterThan(5000);
    expect(received).toEqual(fromFirst);
    stream.close();
    sockets.stop();
  }, 420_000);
});

// The linger is the writer's own timer, the same on every backend: embedded only, where filling
// the kernel's buffers costs least (the catch-up above covers the Redis event log).
describe.each(
  authBackendCases({ STREAM_BUFFER_MAX_BYTES: String(BOUND), RESOURCE_UPDATE_INTERVAL_MS: '10', STREAM_LINGER_S: '3' }).slice(0, 1),
)('a stream whose client stops reading for good, on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  /** A session subscribed to 100 resources updated every 10 ms, and a GET stream on it nobody reads. */
  async function floodedStream(token: string) {
    const sessionId = await openSession(suite.A, token);
    const edge = suite.deployment.servers.at(-1)!;
    const sockets = acceptedSockets(edge.http);
    const stream = unreadResponse(suite.B, { method: 'GET', path: '/mcp', headers: { ...mcpHeaders(token, sessionId), accept: 'text/event-stream' } });
    expect((await stream.ready).status).toBe(200);
    const subscribe = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'resources/subscribe', params: { uri: `test://static/resource/${i + 1}` } }));
    await (await post(suite.A, sessionId, subscribe, undefined, token)).text();
    await waitUntil(() => sockets.maxBuffered() > BOUND / 2, 60_000, 'the stream to fill up to its bound');
    return { sessionId, edge, sockets, stream };
  }

  test('a client that reads nothing for STREAM_LINGER_S is cut: its bytes and its stream slot are freed', async () => {
    const [userId, token] = await freshUserWithId(suite.base, 'stalled');
    const { edge, sockets, stream } = await floodedStream(token);
    expect(edge.runtime.streams.held(userId)).toBe(1);
    // Unread for STREAM_LINGER_S (and the flood goes on): the server drops the connection.
    await waitUntil(() => sockets.count() === 0 && edge.runtime.streams.held(userId) === 0, 8000, 'the stream dropped');
    stream.close();
    sockets.stop();
  }, 90_000);

  test('a session deleted while its stream is behind ends the stream at once, unread bytes and all', async () => {
    const [userId, token] = await freshUserWithId(suite.base, 'deleted');
    const { sessionId, edge, sockets, stream } = await floodedStream(token);
    const deleted = await fetch(`${suite.A}/mcp`, { method: 'DELETE', headers: mcpHeaders(token, sessionId) });
    expect(deleted.status).toBe(200);
    // Ended at once, though behind, its unread bytes with it: well before STREAM_LINGER_S.
    await waitUntil(() => sockets.count() === 0 && edge.runtime.streams.held(userId) === 0, 1500, 'the stream dropped');
    stream.close();
    sockets.stop();
  }, 90_000);
});

describe.each(authBackendCases({ MAX_STREAMS_PER_USER: '1', MAX_SESSIONS_PER_USER: '2' }))('an initialize refused for its stream, on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  test('leaves no session behind: once the stream slot is free, the user still has room for its sessions', async () => {
    const token = await freshUser(suite.base, 'refused');
    const sessionId = await openSession(suite.A, token);
    // The user's one stream slot on A: a GET stream.
    const controller = new AbortController();
    const stream = await fetch(`${suite.A}/mcp`, { headers: { ...mcpHeaders(token, sessionId), accept: 'text/event-stream' }, signal: controller.signal });
    expect(stream.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const refused = await fetch(`${suite.A}/mcp`, { method: 'POST', headers: mcpHeaders(token), body: JSON.stringify(INITIALIZE) });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { data: { limit: string } } }).error.data.limit).toBe('MAX_STREAMS_PER_USER');
    }
    controller.abort();
    await waitUntil(() => suite.deployment.servers[0]!.runtime.streams.held() === 0, 3000, 'the GET stream closed');
    // One session so far, bound two: a second one fits (it would not, had the refusals made sessions).
    const admitted = await fetch(`${suite.A}/mcp`, { method: 'POST', headers: mcpHeaders(token), body: JSON.stringify(INITIALIZE) });
    expect(admitted.status).toBe(200);
    await admitted.text();
  });
});

describe('clients that leave while their request is looked up (Redis paused)', () => {
  let redis: PrivateRedis;
  let admin: ReturnType<typeof createClient>;
  let server: RunningServer;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = createClient({ url: redis.url });
    await admin.connect();
    // No lingering subscription: every request looks its session up in Redis (paused below).
    server = await startInstance(redis.url, { SUBSCRIPTION_GRACE_MS: '0' });
  });

  afterAll(async () => {
    await server?.stop();
    await admin?.close();
    await redis?.stop();
  });

  test('their streams are over at once: no stream slot, holder key or request stays behind, and the session gets its GET stream', async () => {
    const sessionId = await openSession(server.url);
    await admin.sendCommand(['CLIENT', 'PAUSE', '600', 'ALL']);
    const leaving = (init: RequestInit, path = '/mcp') => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      return fetch(`${server.url}${path}`, { ...init, signal: controller.signal }).then((r) => r.text(), () => 'left');
    };
    await Promise.all([
      ...Array.from({ length: 10 }, () => leaving({ headers: { ...mcpHeaders(undefined, sessionId), accept: 'text/event-stream' } })),
      ...Array.from({ length: 10 }, () => leaving({ headers: { accept: 'text/event-stream' } }, '/sse')),
      ...Array.from({ length: 10 }, (_, i) => leaving({ method: 'POST', headers: mcpHeaders(undefined, sessionId), body: JSON.stringify(toolCall(i + 1, 'echo', { message: 'x' })) })),
    ]);
    await waitUntil(
      async () => server.runtime.streams.held() === 0 && server.runtime.requests.active === 0 && (await admin.exists(keys.standaloneHolder(sessionId))) === 0,
      5000,
      'nothing held',
    );
    // The GET stream is the session's again at once: a leaked holder would keep it (409) for the
    // holder lease's 30 s. (A leaving GET still being unwound may hold it for a moment.)
    let status = 0;
    await waitUntil(async () => {
      const stream = await fetch(`${server.url}/mcp`, { headers: { ...mcpHeaders(undefined, sessionId), accept: 'text/event-stream' } });
      status = stream.status;
      await stream.body?.cancel();
      return status !== 409;
    }, 2000, 'the GET stream to be free');
    expect(status).toBe(200);
  });
});
