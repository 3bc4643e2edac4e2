/**
 * Sessions belong to the token's user (issue item 5): another user's token gets
 * the same 404 as an unknown session on /mcp POST, GET and DELETE and on legacy
 * /message, and leaves the session untouched; the same user keeps it with a
 * refreshed token (or another client). Sessions are created on one instance and
 * probed through the other (Redis).
 */
import { authBackendCases, type AuthDeployment } from './support/auth-instances.js';
import { refreshTokens, signIn, type SignedIn, type Tokens } from './support/auth-flow.js';
import { expectHelmetHeaders, expectJsonRpcErrorBody, SseReader, sseMessages } from './support/http-raw.js';

const ACCEPT = 'application/json, text/event-stream';

describe.each(authBackendCases())('session ownership on %s', (_name, start) => {
  let deployment: AuthDeployment;
  let A: string;
  let B: string;
  let alice: SignedIn;
  let bob: SignedIn;
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    deployment = await start();
    A = deployment.urls[0]!;
    B = deployment.urls[deployment.urls.length - 1]!;
    alice = await signIn(deployment.baseUri, 'alice');
    bob = await signIn(deployment.baseUri, 'bob');
  });

  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  function mcp(url: string, token: string, init: { method?: string; sessionId?: string; body?: unknown; accept?: string } = {}) {
    const controller = new AbortController();
    controllers.push(controller);
    return fetch(`${url}/mcp`, {
      method: init.method ?? 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: init.accept ?? ACCEPT,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.sessionId ? { 'mcp-session-id': init.sessionId } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: controller.signal,
    });
  }

  async function openSession(url: string, token: string): Promise<string> {
    const response = await mcp(url, token, {
      body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'owner', version: '1' } } },
    });
    expect(response.status).toBe(200);
    await response.text();
    const sessionId = response.headers.get('mcp-session-id')!;
    const ack = await mcp(url, token, { sessionId, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    expect(ack.status).toBe(202);
    return sessionId;
  }

  async function echo(url: string, token: string, sessionId: string, message: string) {
    const response = await mcp(url, token, { sessionId, body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message } } } });
    const body = await response.text();
    return { status: response.status, text: response.status === 200 ? sseMessages(body)[0]?.result?.content?.[0]?.text : body };
  }

  async function expectNotFound(response: Response) {
    expect(response.status).toBe(404);
    expectHelmetHeaders(response.headers);
    expectJsonRpcErrorBody(response.headers.get('content-type'), await response.text(), -32001);
  }

  test("another user's token gets 404 on POST, GET and DELETE, like an unknown session, and changes nothing", async () => {
    const sessionId = await openSession(A, alice.tokens.access_token);
    await expectNotFound(await mcp(B, bob.tokens.access_token, { sessionId, body: { jsonrpc: '2.0', id: 2, method: 'ping' } }));
    await expectNotFound(await mcp(B, bob.tokens.access_token, { sessionId, body: { jsonrpc: '2.0', method: 'notifications/initialized' } }));
    await expectNotFound(await mcp(B, bob.tokens.access_token, { method: 'GET', sessionId, accept: 'text/event-stream' }));
    await expectNotFound(await mcp(A, bob.tokens.access_token, { method: 'DELETE', sessionId }));
    // The same answer as for a session that never existed:
    await expectNotFound(await mcp(B, bob.tokens.access_token, { sessionId: '00000000-0000-4000-8000-000000000000', body: { jsonrpc: '2.0', id: 2, method: 'ping' } }));
    // Alice's session survived Bob's DELETE.
    expect(await echo(B, alice.tokens.access_token, sessionId, 'still mine')).toEqual({ status: 200, text: 'Echo: still mine' });
    const deleted = await mcp(B, alice.tokens.access_token, { method: 'DELETE', sessionId });
    expect(deleted.status).toBe(200);
    await deleted.text();
  });

  test("legacy SSE: another user's POST /message gets 404; the owner's gets 202", async () => {
    const controller = new AbortController();
    controllers.push(controller);
    const stream = await fetch(`${A}/sse`, { headers: { authorization: `Bearer ${alice.tokens.access_token}`, accept: 'text/event-stream' }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = new SseReader(stream);
    const events = await reader.until((e) => e.some((x) => x.event === 'endpoint'));
    const endpoint = events.find((e) => e.event === 'endpoint')!.data;
    const message = (token: string) =>
      fetch(`${B}${endpoint}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'sse', version: '1' } } }),
      });
    await expectNotFound(await message(bob.tokens.access_token));
    const own = await message(alice.tokens.access_token);
    expect(own.status).toBe(202);
    await own.text();
    const reply = await reader.until((e) => e.some((x) => x.event === 'message'));
    expect(JSON.parse(reply.find((e) => e.event === 'message')!.data)).toMatchObject({ id: 1, result: { protocolVersion: '2024-11-05' } });
  });

  test('the same user keeps the session with a refreshed token, and from another client', async () => {
    const carol = await signIn(deployment.baseUri, 'carol');
    const sessionId = await openSession(A, carol.tokens.access_token);
    const refreshed = await refreshTokens(B, carol.client, carol.tokens.refresh_token);
    expect(refreshed.status).toBe(200);
    const next = refreshed.body as unknown as Tokens;
    expect(next.access_token).not.toBe(carol.tokens.access_token);
    expect(await echo(B, next.access_token, sessionId, 'refreshed')).toEqual({ status: 200, text: 'Echo: refreshed' });
    // Sessions belong to users, not to clients: Carol signed in through another app is still Carol.
    const elsewhere = await signIn(deployment.baseUri, 'carol');
    expect(elsewhere.client.client_id).not.toBe(carol.client.client_id);
    expect(await echo(A, elsewhere.tokens.access_token, sessionId, 'other app')).toEqual({ status: 200, text: 'Echo: other app' });
    // ...and a user whose id merely starts the same is someone else.
    const carolyn = await signIn(deployment.baseUri, 'carolyn');
    await expectNotFound(await mcp(B, carolyn.tokens.access_token, { sessionId, body: { jsonrpc: '2.0', id: 3, method: 'ping' } }));
  });
});
