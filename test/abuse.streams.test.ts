/**
 * Streams a client does not read, and streams by the hundred (DESIGN §13): what
 * an unread stream may make an instance hold is bounded (STREAM_BUFFER_MAX_BYTES),
 * the client that reads again gets what it missed from the event log, and open
 * streams per user are bounded (MAX_STREAMS_PER_USER). Another user stays served
 * throughout. Over both backends, with authorization on (two users).
 */
import { randomUUID } from 'node:crypto';
import { authBackendCases, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { acceptedSockets, expectServed, rssMB, sampleMax, unreadResponse } from './support/abuse.js';
import { parseSse } from './support/http-raw.js';
import { mcpHeaders, openSession, post, sseMessages, sseReader, toolCall, waitUntil } from './support/raw-mcp.js';

const BOUND = 64 * 1024;
/**
 * What one tick writes lands on top of the bound before it is judged (a stream
 * that is read must not be mistaken for one that is not): a bus read, a page of
 * the log, or, embedded, every answer of a batch at once (100 tools/list ≈ 2.4 MB).
 */
const SLACK = 3 * 1024 * 1024;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

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
    // 100 tools/list per batch: about 2.4 MB of answers each, all for the one stream nobody reads.
    const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/list' })));
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
    await waitUntil(() => sockets.maxBuffered() > BOUND / 2, 20_000, 'the stream to fill up to its bound');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // and keep coming, unread
    await expectServed(A, bob);
    const unsubscribe = subscribe.map((request) => ({ ...request, method: 'resources/unsubscribe' }));
    await (await post(A, sessionId, unsubscribe, undefined, alice)).text();
    expect(held.stop()).toBeLessThanOrEqual(BOUND + SLACK);

    // The client reads again: everything the log holds for the stream arrives, without a gap.
    const logged = (await edge.runtime.backend.events.after(sessionId, '0-0', '', 10_000_000)).map((e) => e.position);
    let text = '';
    stream.readOn((chunk) => (text += chunk));
    await waitUntil(() => positionsIn(text).at(-1) === logged.at(-1), 20_000, 'the client to catch up');
    const received = positionsIn(text);
    const fromFirst = logged.slice(logged.indexOf(received[0]!));
    expect(received.length).toBeGreaterThan(5000);
    expect(received).toEqual(fromFirst);
    stream.close();
    sockets.stop();
  });
});
