/**
 * The HTTP contract, status code by status code, with raw HTTP
 * (fetch, or node:http where fetch cannot set a header) so that the test controls
 * every header. Runs on the embedded in-memory backend (one instance) and on
 * Redis with two instances, where sessions are created on one instance (A) and
 * used through the other (B).
 */
import { gzipSync } from 'node:zlib';
import type { RunningServer } from '../src/server.js';
import {
  expectHelmetHeaders,
  expectJsonBody,
  expectJsonRpcErrorBody,
  headerList,
  MCP_ACCEPT,
  rawRequest,
  readToEnd,
  SseReader,
  sseMessages,
  within,
} from './support/http-raw.js';
import { backendCases } from './support/backends.js';

const backends = backendCases();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VISIBLE_ASCII = /^[\x21-\x7E]+$/;
const UNKNOWN_SESSION = '00000000-0000-4000-8000-000000000000';
const ALLOWED_ORIGIN = 'http://localhost:5173';
const EVIL_ORIGIN = 'http://evil.example';
const MAX_BODY = 4 * 1024 * 1024;

const initializeRequest = (id: number | string = 1, protocolVersion = '2025-11-25') => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'http-contract-test', version: '1.0.0' } },
});
const ping = (id: number | string) => ({ jsonrpc: '2.0', id, method: 'ping' });
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends)('HTTP contract on %s', (_name, start) => {
  let servers: RunningServer[];
  /** Instance A creates sessions; B (the other instance on Redis, the same one in memory) uses them. */
  let A: string;
  let B: string;
  let all: string[];
  /** Every request a test opens; aborted after each test, so no stream outlives its test. */
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    servers = await start();
    all = servers.map((s) => s.url);
    A = all[0]!;
    B = all[all.length - 1]!;
  });

  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });

  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
  });

  /** fetch with an abort controller that the suite aborts after the test. */
  function send(url: string, init: RequestInit = {}): { response: Promise<Response>; controller: AbortController } {
    const controller = new AbortController();
    controllers.push(controller);
    return { response: fetch(url, { ...init, signal: controller.signal }), controller };
  }

  interface PostOptions {
    sessionId?: string;
    headers?: Record<string, string>;
    /** A raw body, sent as is (otherwise `message` is JSON-encoded). */
    raw?: string;
  }

  /** POST /mcp with the headers a conforming client sends, overridable one by one. */
  function postMcp(url: string, message: unknown, options: PostOptions = {}) {
    const headers: Record<string, string> = {
      Accept: MCP_ACCEPT,
      'Content-Type': 'application/json',
      ...(options.sessionId ? { 'Mcp-Session-Id': options.sessionId } : {}),
      ...options.headers,
    };
    return send(`${url}/mcp`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(message) });
  }

  /** Fetch and read the whole (non-stream) body. */
  async function call(url: string, init: RequestInit = {}): Promise<{ response: Response; body: string }> {
    const { response, controller } = send(url, init);
    return within(controller, 5000, 'no complete answer', async () => {
      const r = await response;
      return { response: r, body: await r.text() };
    });
  }

  /** POST /mcp and read the whole answer; fails if headers or the end of the body do not come in time. */
  async function post(url: string, message: unknown, options: PostOptions = {}, timeoutMs = 5000) {
    const { response, controller } = postMcp(url, message, options);
    return within(controller, timeoutMs, 'no complete answer to the POST', async () => {
      const r = await response;
      return { response: r, body: await r.text() };
    });
  }

  /** Asserts a JSON-RPC error answer (status, JSON body, helmet headers); returns the body. */
  function expectRpcError(result: { response: Response; body: string }, status: number, code?: number) {
    // Status and body in one string, so that a wrong status shows what came with it.
    expect(`${result.response.status} ${result.body}`).toMatch(new RegExp(`^${status} `));
    expectHelmetHeaders(result.response.headers);
    return expectJsonRpcErrorBody(result.response.headers.get('content-type'), result.body, code);
  }

  /** initialize on `url` (+ notifications/initialized); returns the new session id. */
  async function initialize(url = A): Promise<string> {
    const { response, body } = await post(url, initializeRequest());
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id');
    expect(sessionId).toEqual(expect.any(String));
    expect(sseMessages(body)[0]).toMatchObject({ id: 1, result: { protocolVersion: '2025-11-25' } });
    const ack = await post(url, initialized, { sessionId: sessionId! });
    expect(ack.response.status).toBe(202);
    return sessionId!;
  }

  async function deleteSession(url: string, sessionId: string, headers: Record<string, string> = {}) {
    return call(`${url}/mcp`, { method: 'DELETE', headers: { 'Mcp-Session-Id': sessionId, ...headers } });
  }

  function getStream(url: string, sessionId: string | undefined, headers: Record<string, string> = {}) {
    return send(`${url}/mcp`, {
      method: 'GET',
      headers: { Accept: 'text/event-stream', ...(sessionId ? { 'Mcp-Session-Id': sessionId } : {}), ...headers },
    });
  }

  /**
   * A ping on the session through `url` succeeds. A client of 2025-11-25 gets an event stream
   * (it can resume it); an older one (no MCP-Protocol-Version header means 2025-03-26) gets the
   * answer as one JSON object, since the answer is all there is to send.
   */
  async function expectPingWorks(url: string, sessionId: string, id: number | string, headers: Record<string, string> = {}) {
    const { response, body } = await post(url, ping(id), { sessionId, headers });
    expect(response.status).toBe(200);
    const resumable = (headers['MCP-Protocol-Version'] ?? '2025-03-26') >= '2025-11-25';
    expect(response.headers.get('content-type')).toMatch(resumable ? /^text\/event-stream/ : /^application\/json/);
    expect(sseMessages(body)).toEqual([{ jsonrpc: '2.0', id, result: {} }]);
  }

  describe('POST /mcp', () => {
    test('initialize without a session: 200, a visible-ASCII Mcp-Session-Id and the result on an event stream', async () => {
      const { response, body } = await post(A, initializeRequest(7));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const sessionId = response.headers.get('mcp-session-id');
      expect(sessionId).toMatch(VISIBLE_ASCII);
      expectHelmetHeaders(response.headers);
      const messages = sseMessages(body);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({
        jsonrpc: '2.0',
        id: 7,
        result: { protocolVersion: '2025-11-25', serverInfo: { name: 'mcp-everything-server' }, capabilities: expect.any(Object) },
      });
      // The id names a live session: usable right away, from the other instance too.
      await expectPingWorks(B, sessionId!, 'after-init');
    });

    test('a non-initialize message without Mcp-Session-Id: 400 JSON-RPC error', async () => {
      expectRpcError(await post(A, ping(1)), 400, -32000);
      expectRpcError(await post(A, initialized), 400, -32000);
    });

    test('a request (client of 2025-11-25): an event stream, primed for resumption, that ends after the response', async () => {
      const sessionId = await initialize(A);
      const { response, controller } = postMcp(B, ping('p1'), { sessionId, headers: { 'MCP-Protocol-Version': '2025-11-25' } });
      const r = await response;
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // readToEnd fails if the stream stays open after the response.
      const body = await readToEnd(r, controller, 3000);
      expect(body).toMatch(/^id: \S+\nretry: \d+\ndata: \n\n/);
      expect(sseMessages(body)).toEqual([{ jsonrpc: '2.0', id: 'p1', result: {} }]);
    });

    test('a request from an older client: one JSON object when the answer comes first, an event stream when anything precedes it', async () => {
      const sessionId = await initialize(A);
      for (const headers of [{ 'MCP-Protocol-Version': '2025-06-18' }, {}] as Array<Record<string, string>>) {
        const quick = await post(B, ping('q1'), { sessionId, headers });
        expect(quick.response.status).toBe(200);
        expect(quick.response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(JSON.parse(quick.body)).toEqual({ jsonrpc: '2.0', id: 'q1', result: {} });
        expectHelmetHeaders(quick.response.headers);
      }
      // Progress before the result: the same kind of request is answered with a stream.
      const withProgress = await post(
        B,
        { jsonrpc: '2.0', id: 'q2', method: 'tools/call', params: { name: 'longRunningOperation', arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 't' } } },
        { sessionId, headers: { 'MCP-Protocol-Version': '2025-06-18' } },
      );
      expect(withProgress.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const messages = sseMessages(withProgress.body);
      expect(messages.filter((m) => m.method === 'notifications/progress')).toHaveLength(2);
      expect(messages.at(-1)).toMatchObject({ id: 'q2', result: { content: [{ type: 'text' }] } });
    });

    test('a batch of requests: one stream carrying every response, ending after the last', async () => {
      const sessionId = await initialize(A);
      // Ids 1 and "1" are different ids; every request gets its own response.
      const ids: Array<number | string> = [1, '1', ...Array.from({ length: 8 }, (_, i) => `r${i}`)];
      const { response, body } = await post(B, ids.map(ping), { sessionId, headers: { 'MCP-Protocol-Version': '2025-03-26' } }, 3000);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const messages = sseMessages(body);
      expect(messages).toHaveLength(ids.length);
      expect(messages).toEqual(expect.arrayContaining(ids.map((id) => ({ jsonrpc: '2.0', id, result: {} }))));
    });

    test('a batch of a request and notifications: the response to the request, then the stream ends', async () => {
      const sessionId = await initialize(A);
      const notification = { jsonrpc: '2.0', method: 'notifications/roots/list_changed' };
      // Several notifications after the request: its response may come back while they are still being routed.
      const batch = [ping('b1'), ...Array.from({ length: 10 }, () => notification)];
      const { response, body } = await post(B, batch, { sessionId }, 3000);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(sseMessages(body)).toEqual([{ jsonrpc: '2.0', id: 'b1', result: {} }]);
    });

    test('Content-Type application/json with a charset parameter is JSON', async () => {
      const { response, body } = await post(A, initializeRequest(3), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
      expect(response.status).toBe(200);
      expect(sseMessages(body)[0]).toMatchObject({ id: 3, result: expect.any(Object) });
    });

    test('a body with a byte-order mark, sent chunked, or gzip-compressed is read like any other', async () => {
      const json = JSON.stringify(initializeRequest(4));
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(json);
          controller.enqueue(bytes.slice(0, 20));
          controller.enqueue(bytes.slice(20));
          controller.close();
        },
      });
      for (const [body, headers] of [
        [`\uFEFF${json}`, {}],
        [chunked, {}],
        [gzipSync(json), { 'Content-Encoding': 'gzip' }],
      ] as const) {
        const { response, controller } = send(`${A}/mcp`, {
          method: 'POST',
          headers: { Accept: MCP_ACCEPT, 'Content-Type': 'application/json', ...headers },
          body,
          duplex: 'half',
        } as RequestInit);
        const answer = await within(controller, 5000, 'no answer', async () => {
          const r = await response;
          return { status: r.status, body: await r.text() };
        });
        expect(answer.status).toBe(200);
        expect(sseMessages(answer.body)[0]).toMatchObject({ id: 4, result: { protocolVersion: '2025-11-25' } });
      }
    });

    test('notifications only, and responses only: 202 with an empty body', async () => {
      const sessionId = await initialize(A);
      const notification = await post(B, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, { sessionId });
      expect(notification.response.status).toBe(202);
      expect(notification.body).toBe('');

      const response = await post(B, { jsonrpc: '2.0', id: 'server-req-1', result: {} }, { sessionId });
      expect(response.response.status).toBe(202);
      expect(response.body).toBe('');

      const batch = await post(B, [initialized, { jsonrpc: '2.0', id: 99, error: { code: -1, message: 'no' } }], { sessionId });
      expect(batch.response.status).toBe(202);
      expect(batch.body).toBe('');
      // The session is unharmed by answers to requests it never made.
      await expectPingWorks(A, sessionId, 'still-ok');
    });

    test('wrong Accept: 406', async () => {
      for (const accept of ['application/json', 'text/event-stream', 'text/html']) {
        expectRpcError(await post(A, initializeRequest(), { headers: { Accept: accept } }), 406);
      }
      const sessionId = await initialize(A);
      expectRpcError(await post(B, ping(1), { sessionId, headers: { Accept: 'application/json' } }), 406);
    });

    test('non-JSON Content-Type: 415', async () => {
      expectRpcError(await post(A, initializeRequest(), { headers: { 'Content-Type': 'text/plain' } }), 415);
      const sessionId = await initialize(A);
      expectRpcError(await post(B, ping(1), { sessionId, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415);
    });

    test('a body over 4 MiB: 413, and the instance keeps serving', async () => {
      const sessionId = await initialize(A);
      const message = { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { pad: '' } } };
      const overhead = JSON.stringify(message).length;
      message.params._meta.pad = 'x'.repeat(MAX_BODY - overhead + 1);
      const raw = JSON.stringify(message);
      expect(raw.length).toBe(MAX_BODY + 1);
      expectRpcError(await post(B, undefined, { sessionId, raw }), 413);
      expectRpcError(await post(A, undefined, { raw }), 413);
      await expectPingWorks(B, sessionId, 'after-413');
    });

    test('malformed JSON: 400 with -32700', async () => {
      const sessionId = await initialize(A);
      expectRpcError(await post(B, undefined, { sessionId, raw: '{"jsonrpc":"2.0","id":1,"method":' }), 400, -32700);
      expectRpcError(await post(A, undefined, { raw: 'not json at all' }), 400, -32700);
    });

    test('valid JSON that is not JSON-RPC: 400 with -32600', async () => {
      const sessionId = await initialize(A);
      for (const raw of ['{"hello":1}', '[]', '"str"', '42', 'null', '{"jsonrpc":"1.0","id":1,"method":"ping"}']) {
        expectRpcError(await post(B, undefined, { sessionId, raw }), 400, -32600);
      }
      expectRpcError(await post(A, undefined, { raw: '{"hello":1}' }), 400, -32600);
    });

    test('an unsupported MCP-Protocol-Version on a non-initialize request: 400', async () => {
      const sessionId = await initialize(A);
      for (const version of ['1999-01-01', 'latest']) {
        expectRpcError(await post(B, ping(1), { sessionId, headers: { 'MCP-Protocol-Version': version } }), 400);
      }
    });

    test.each(['2025-11-25', '2025-06-18', '2025-03-26'])('protocol version %s: initialize negotiates it and requests carrying it work', async (version) => {
      const init = await post(A, initializeRequest(1, version), { headers: { 'MCP-Protocol-Version': version } });
      expect(init.response.status).toBe(200);
      expect(sseMessages(init.body)[0]).toMatchObject({ id: 1, result: { protocolVersion: version } });
      const sessionId = init.response.headers.get('mcp-session-id')!;
      expect(sessionId).toMatch(VISIBLE_ASCII);
      await expectPingWorks(B, sessionId, `v-${version}`, { 'MCP-Protocol-Version': version });
    });

    test('a batch holding initialize and another message: 400', async () => {
      expectRpcError(await post(A, [initializeRequest(1), ping(2)]), 400, -32600);
      expectRpcError(await post(A, [initializeRequest(1), initialized]), 400, -32600);
    });

    test('a batch with two requests sharing an id: 400', async () => {
      const sessionId = await initialize(A);
      expectRpcError(await post(B, [ping(5), ping(5)], { sessionId }), 400, -32600);
      expectRpcError(await post(B, [ping('x'), ping('x')], { sessionId }), 400, -32600);
      // ids 1 and "1" are different ids (checked by the batch test above); the session still works.
      await expectPingWorks(A, sessionId, 5);
    });
  });

  describe('sessions that do not exist (or no longer do): 404, the same answer for all', () => {
    test('unknown, malformed and terminated session ids', async () => {
      const terminated = await initialize(A);
      const deleted = await deleteSession(A, terminated);
      expect(deleted.response.status).toBe(200);

      const cases = [UNKNOWN_SESSION, 'not-a-session-id', `${UNKNOWN_SESSION}x`, terminated];
      const bodies: unknown[] = [];
      for (const sessionId of cases) {
        const result = await post(B, ping(1), { sessionId });
        bodies.push(expectRpcError(result, 404));
      }
      for (const body of bodies) expect(body).toEqual(bodies[0]);
    });

    test('created on A, seen by B, deleted on A: 404 on B (and on A)', async () => {
      const sessionId = await initialize(A);
      await expectPingWorks(B, sessionId, 'warm-b'); // B has looked the session up before
      const deleted = await deleteSession(A, sessionId);
      expect(deleted.response.status).toBe(200);
      expect(deleted.body).toBe('');
      const reference = expectRpcError(await post(B, ping(1), { sessionId: UNKNOWN_SESSION }), 404);
      for (const url of all) expect(expectRpcError(await post(url, ping(2), { sessionId }), 404)).toEqual(reference);
    });
  });

  describe('DELETE /mcp', () => {
    test('200, then the session is gone on every instance, for every method', async () => {
      const sessionId = await initialize(A);
      const deleted = await deleteSession(B, sessionId);
      expect(deleted.response.status).toBe(200);
      expectHelmetHeaders(deleted.response.headers);
      for (const url of all) {
        expectRpcError(await post(url, ping(1), { sessionId }), 404);
        expectRpcError(await post(url, initialized, { sessionId }), 404);
        const { response } = getStream(url, sessionId);
        const get = await response;
        expectRpcError({ response: get, body: await get.text() }, 404);
        expectRpcError(await deleteSession(url, sessionId), 404);
      }
    });

    test('ends a standalone stream open on another instance', async () => {
      const sessionId = await initialize(A);
      const { response, controller } = getStream(B, sessionId);
      const stream = await response;
      expect(stream.status).toBe(200);
      expect((await deleteSession(A, sessionId)).response.status).toBe(200);
      await readToEnd(stream, controller, 3000); // fails if the stream stays open
    });

    test('without Mcp-Session-Id: 400; unknown session: 404', async () => {
      expectRpcError(await call(`${A}/mcp`, { method: 'DELETE' }), 400);
      expectRpcError(await deleteSession(A, UNKNOWN_SESSION), 404);
    });

    test('with an unsupported MCP-Protocol-Version: 400, and the session survives', async () => {
      const sessionId = await initialize(A);
      expectRpcError(await deleteSession(B, sessionId, { 'MCP-Protocol-Version': '1999-01-01' }), 400);
      await expectPingWorks(A, sessionId, 'survived');
    });
  });

  describe('GET /mcp', () => {
    test('the standalone stream: 200; a second one for the session: 409; a new one once the first closed', async () => {
      const sessionId = await initialize(A);
      const first = getStream(A, sessionId);
      const stream = await first.response;
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expectHelmetHeaders(stream.headers);

      for (const url of all) {
        const { response } = getStream(url, sessionId);
        const second = await response;
        expectRpcError({ response: second, body: await second.text() }, 409);
      }

      first.controller.abort();
      const deadline = Date.now() + 3000;
      let status = 0;
      while (Date.now() < deadline) {
        const again = getStream(B, sessionId);
        const response = await again.response;
        status = response.status;
        if (status === 200) {
          expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
          again.controller.abort();
          break;
        }
        expectRpcError({ response, body: await response.text() }, 409);
        await sleep(50);
      }
      expect(status).toBe(200);
    });

    test('without Mcp-Session-Id: 400; unknown or malformed session: 404', async () => {
      for (const sessionId of [undefined, '']) {
        const { response } = getStream(A, sessionId);
        const r = await response;
        expectRpcError({ response: r, body: await r.text() }, 400);
      }
      const bodies: unknown[] = [];
      for (const sessionId of [UNKNOWN_SESSION, 'nope']) {
        const { response } = getStream(B, sessionId);
        const r = await response;
        bodies.push(expectRpcError({ response: r, body: await r.text() }, 404));
      }
      expect(bodies[1]).toEqual(bodies[0]);
    });

    test('without Accept: text/event-stream: 406', async () => {
      const sessionId = await initialize(A);
      for (const accept of ['application/json', 'text/html']) {
        const { response } = getStream(B, sessionId, { Accept: accept });
        const r = await response;
        expectRpcError({ response: r, body: await r.text() }, 406);
      }
      // The refused GETs held nothing: the stream can still be opened.
      const { response } = getStream(B, sessionId);
      expect((await response).status).toBe(200);
    });

    test('with an unsupported MCP-Protocol-Version: 400', async () => {
      const sessionId = await initialize(A);
      const { response } = getStream(B, sessionId, { 'MCP-Protocol-Version': '1999-01-01' });
      const r = await response;
      expectRpcError({ response: r, body: await r.text() }, 400);
    });
  });

  describe('Origin, Host and CORS (DNS-rebinding protection)', () => {
    test('a disallowed Origin: 403 JSON, before anything else happens', async () => {
      for (const origin of [EVIL_ORIGIN, 'null', 'http://localhost.evil.example:80', 'https://localhost:5173']) {
        expectRpcError(await post(A, initializeRequest(), { headers: { Origin: origin } }), 403);
      }
      const sessionId = await initialize(A);
      expectRpcError(await post(B, ping(1), { sessionId, headers: { Origin: EVIL_ORIGIN } }), 403);
      const { response } = getStream(B, sessionId, { Origin: EVIL_ORIGIN });
      const r = await response;
      expectRpcError({ response: r, body: await r.text() }, 403);
      expectRpcError(await deleteSession(B, sessionId, { Origin: EVIL_ORIGIN }), 403);
      // The refused DELETE did not end the session.
      await expectPingWorks(A, sessionId, 'not-deleted');
    });

    test('an allowed Origin works and gets CORS headers exposing the MCP response headers', async () => {
      const { response, body } = await post(A, initializeRequest(), { headers: { Origin: ALLOWED_ORIGIN } });
      expect(response.status).toBe(200);
      expect(sseMessages(body)[0]).toMatchObject({ id: 1, result: expect.any(Object) });
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      expect(headerList(response.headers.get('access-control-expose-headers'))).toEqual(
        expect.arrayContaining(['mcp-session-id', 'mcp-protocol-version', 'www-authenticate']),
      );
      const sessionId = response.headers.get('mcp-session-id')!;
      const { response: pr, body: pb } = await post(B, ping(2), { sessionId, headers: { Origin: 'http://127.0.0.1:8080' } });
      expect(pr.status).toBe(200);
      expect(sseMessages(pb)).toEqual([{ jsonrpc: '2.0', id: 2, result: {} }]);
      expect(pr.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8080');
      // A browser client must be able to read error answers too (404 means: re-initialize).
      const missing = await post(B, ping(3), { sessionId: UNKNOWN_SESSION, headers: { Origin: ALLOWED_ORIGIN } });
      expectRpcError(missing, 404);
      expect(missing.response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    });

    test('a preflight from an allowed origin allows the MCP methods and request headers', async () => {
      // Both eras' headers: the session's, and the 2026-07-28 routing headers (Mcp-Param-* named by the tool).
      const requested = ['mcp-session-id', 'mcp-protocol-version', 'authorization', 'content-type', 'last-event-id', 'mcp-method', 'mcp-name', 'mcp-param-value'];
      for (const method of ['POST', 'GET', 'DELETE']) {
        const { response } = await call(`${B}/mcp`, {
          method: 'OPTIONS',
          headers: {
            Origin: ALLOWED_ORIGIN,
            'Access-Control-Request-Method': method,
            'Access-Control-Request-Headers': requested.join(','),
          },
        });
        expect(response.status).toBeGreaterThanOrEqual(200);
        expect(response.status).toBeLessThan(300);
        expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
        expect(headerList(response.headers.get('access-control-allow-methods'))).toContain(method.toLowerCase());
        expect(headerList(response.headers.get('access-control-allow-headers'))).toEqual(expect.arrayContaining(requested));
        expectHelmetHeaders(response.headers);
      }
      // A preflight from a disallowed origin is refused outright.
      const refused = await call(`${B}/mcp`, {
        method: 'OPTIONS',
        headers: { Origin: EVIL_ORIGIN, 'Access-Control-Request-Method': 'POST' },
      });
      expectRpcError(refused, 403);
      expect(refused.response.headers.get('access-control-allow-origin')).toBeNull();
    });

    test('a disallowed Host: 403 JSON; an allowed one passes', async () => {
      const port = new URL(A).port;
      const body = JSON.stringify(initializeRequest());
      const headers = { Accept: MCP_ACCEPT, 'Content-Type': 'application/json' };
      for (const host of ['evil.example', `evil.example:${port}`, 'localhost.evil.example']) {
        const refused = await rawRequest(A, { method: 'POST', path: '/mcp', headers: { ...headers, Host: host }, body });
        expect(refused.status).toBe(403);
        expectHelmetHeaders(refused.headers);
        expectJsonRpcErrorBody(refused.headers['content-type'], refused.body);
      }
      const unknownPath = await rawRequest(A, { method: 'GET', path: '/nowhere', headers: { Host: 'evil.example' } });
      expect(unknownPath.status).toBe(403);
      expectJsonRpcErrorBody(unknownPath.headers['content-type'], unknownPath.body);

      const allowed = await rawRequest(A, { method: 'POST', path: '/mcp', headers: { ...headers, Host: `localhost:${port}` }, body });
      expect(allowed.status).toBe(200);
      expect(allowed.headers['mcp-session-id']).toMatch(VISIBLE_ASCII);
      expect(sseMessages(allowed.body)[0]).toMatchObject({ id: 1, result: expect.any(Object) });
    });
  });

  describe('routes and methods', () => {
    test('an unknown path: 404 JSON, even when the client asks for HTML', async () => {
      for (const [method, path] of [
        ['GET', '/nowhere'],
        ['POST', '/mcp/extra'],
        ['POST', '/'],
      ] as const) {
        const { response, body } = await call(`${A}${path}`, { method, headers: { Accept: 'text/html' } });
        expect(response.status).toBe(404);
        expectHelmetHeaders(response.headers);
        expect(expectJsonBody(response.headers.get('content-type'), body)).toEqual({
          error: 'not_found',
          error_description: expect.any(String),
        });
      }
    });

    test('an unsupported method on /mcp, /sse or /message: 405 JSON-RPC error, never HTML', async () => {
      for (const [method, path] of [
        ['PUT', '/mcp'],
        ['PATCH', '/mcp'],
        ['POST', '/sse'],
        ['PUT', '/message'],
      ] as const) {
        const result = await call(`${A}${path}`, {
          method,
          headers: { Accept: 'text/html', 'Content-Type': 'application/json' },
          body: JSON.stringify(ping(1)),
        });
        expectRpcError(result, 405);
      }
    });

    test('/mcp and the spellings only the express router takes (/MCP, /mcp/) answer alike', async () => {
      const shape = async (path: string, message: unknown, sessionId?: string) => {
        const { response, body } = await call(`${A}${path}`, {
          method: 'POST',
          headers: { Accept: MCP_ACCEPT, 'Content-Type': 'application/json', Origin: ALLOWED_ORIGIN, ...(sessionId ? { 'Mcp-Session-Id': sessionId } : {}) },
          body: JSON.stringify(message),
        });
        const headers = [...response.headers].filter(([name]) => !['date', 'mcp-session-id'].includes(name));
        const messages = response.headers.get('content-type')?.startsWith('text/event-stream') ? sseMessages(body) : [JSON.parse(body)];
        return { status: response.status, headers, messages, sessionId: response.headers.get('mcp-session-id') };
      };
      const direct = await shape('/mcp', initializeRequest());
      expect(direct.status).toBe(200);
      for (const path of ['/MCP', '/mcp/', '/mcp?probe=1']) {
        const routed = await shape(path, initializeRequest());
        expect(routed.sessionId).toMatch(UUID);
        expect({ ...routed, sessionId: undefined, messages: undefined }).toEqual({ ...direct, sessionId: undefined, messages: undefined });
        // A session made one way is used the other way: same tool list, same errors.
        const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
        expect((await shape(path, list, direct.sessionId!)).messages).toEqual((await shape('/mcp', list, routed.sessionId!)).messages);
        const [viaRouter, viaDirect] = [await shape(path, ping(3)), await shape('/mcp', ping(3))];
        expect(viaRouter).toEqual(viaDirect);
        expect(viaDirect.status).toBe(400);
      }
    });

    test('a 405 names the allowed methods in an Allow header (RFC 9110 §15.5.6)', async () => {
      for (const [path, allowed] of [
        ['/mcp', ['get', 'post', 'delete']],
        ['/message', ['post']],
      ] as const) {
        const { response } = await call(`${A}${path}`, { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/json' } });
        expect(response.status).toBe(405);
        expect(headerList(response.headers.get('allow'))).toEqual(expect.arrayContaining([...allowed]));
      }
    });
  });

  test('helmet headers on 200, 400, 403, 404 and 413 responses alike', async () => {
    const ok = await post(A, initializeRequest());
    expect(ok.response.status).toBe(200);
    const badRequest = await post(A, ping(1));
    expect(badRequest.response.status).toBe(400);
    const forbidden = await post(A, initializeRequest(), { headers: { Origin: EVIL_ORIGIN } });
    expect(forbidden.response.status).toBe(403);
    const notFound = await call(`${A}/nowhere`);
    expect(notFound.response.status).toBe(404);
    const unknownSession = await post(A, ping(1), { sessionId: UNKNOWN_SESSION });
    expect(unknownSession.response.status).toBe(404);
    for (const { response } of [ok, badRequest, forbidden, notFound, unknownSession]) expectHelmetHeaders(response.headers);
    const forbiddenHost = await rawRequest(A, { method: 'GET', path: '/mcp', headers: { Host: 'evil.example' } });
    expect(forbiddenHost.status).toBe(403);
    expectHelmetHeaders(forbiddenHost.headers);
  });

  describe('legacy HTTP+SSE', () => {
    /** Opens GET /sse on `url`; returns the stream, its session id and the announced endpoint. */
    async function openLegacy(url: string) {
      const { response, controller } = send(`${url}/sse`, { headers: { Accept: 'text/event-stream' } });
      const r = await response;
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = new SseReader(r);
      const events = await reader.until((e) => e.length >= 1);
      expect(events[0]?.event).toBe('endpoint');
      const endpoint = events[0]!.data;
      expect(endpoint).toMatch(/^\/message\?sessionId=[0-9a-f-]{36}$/);
      const sessionId = new URL(endpoint, url).searchParams.get('sessionId')!;
      expect(sessionId).toMatch(UUID);
      return { response: r, reader, controller, endpoint, sessionId };
    }

    function postMessage(url: string, query: string, message: unknown, headers: Record<string, string> = {}, raw?: string) {
      return call(`${url}/message${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: raw ?? JSON.stringify(message),
      });
    }

    test('GET /sse announces /message?sessionId=<uuid>; a POST there (from the other instance) is 202 and reaches the session', async () => {
      const legacy = await openLegacy(A);
      expectHelmetHeaders(legacy.response.headers);
      const accepted = await postMessage(B, legacy.endpoint.slice('/message'.length), initializeRequest(41, '2024-11-05'));
      expect(accepted.response.status).toBe(202);
      expect(accepted.body).toBe('');
      // The response travels on the SSE stream, not on the POST.
      const events = await legacy.reader.until((e) => e.some((event) => event.event === 'message'));
      const replies = events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as unknown);
      expect(replies).toEqual([expect.objectContaining({ jsonrpc: '2.0', id: 41, result: expect.objectContaining({ protocolVersion: '2024-11-05' }) })]);
    });

    test('POST /message: unknown session 404; no sessionId 400; a Streamable HTTP session 404', async () => {
      const shttpSession = await initialize(A);
      const unknown = expectRpcError(await postMessage(B, `?sessionId=${UNKNOWN_SESSION}`, ping(1)), 404);
      expect(expectRpcError(await postMessage(B, '?sessionId=garbage', ping(1)), 404)).toEqual(unknown);
      expect(expectRpcError(await postMessage(B, `?sessionId=${shttpSession}`, ping(1)), 404)).toEqual(unknown);
      expectRpcError(await postMessage(B, '', ping(1)), 400);
      expectRpcError(await postMessage(B, '?sessionId=', ping(1)), 400);
    });

    test('a legacy session is not a Streamable HTTP session: 404 on /mcp', async () => {
      const legacy = await openLegacy(A);
      expectRpcError(await post(B, ping(1), { sessionId: legacy.sessionId }), 404);
    });

    test('POST /message: non-JSON Content-Type 415; malformed JSON 400 -32700; not JSON-RPC 400 -32600; over 4 MiB 413', async () => {
      const legacy = await openLegacy(A);
      const query = `?sessionId=${legacy.sessionId}`;
      expectRpcError(await postMessage(B, query, ping(1), { 'Content-Type': 'text/plain' }), 415);
      expectRpcError(await postMessage(B, query, undefined, {}, '{"jsonrpc":'), 400, -32700);
      expectRpcError(await postMessage(B, query, undefined, {}, '{"hello":1}'), 400, -32600);
      expectRpcError(await postMessage(B, query, undefined, {}, `{"jsonrpc":"2.0","method":"x","params":{"pad":"${'x'.repeat(MAX_BODY)}"}}`), 413);
      // None of that hurt the session.
      expect((await postMessage(B, query, initialized)).response.status).toBe(202);
    });

    test('GET /sse without Accept: text/event-stream: 406', async () => {
      const result = await call(`${A}/sse`, { headers: { Accept: 'application/json' } });
      expectRpcError(result, 406);
    });

    test('closing the stream ends the session on every instance: 404', async () => {
      const legacy = await openLegacy(A);
      const query = `?sessionId=${legacy.sessionId}`;
      expect((await postMessage(B, query, initialized)).response.status).toBe(202);
      legacy.controller.abort();
      const deadline = Date.now() + 3000;
      let status = 0;
      while (Date.now() < deadline) {
        const result = await postMessage(B, query, initialized);
        status = result.response.status;
        if (status === 404) {
          expectRpcError(result, 404);
          break;
        }
        await sleep(50);
      }
      expect(status).toBe(404);
    });
  });
});
