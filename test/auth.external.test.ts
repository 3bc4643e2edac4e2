/**
 * AUTH_MODE=external (issue item 6): tokens are introspected (RFC 7662) at the
 * authorization server named by AUTH_SERVER_URL, with client authentication,
 * and cached briefly; the audience must be ours; an unreachable authorization
 * server gives 503, never 401. No authorization server runs here.
 */
import { keys } from '../src/protocol/channels.js';
import type { RunningServer } from '../src/server.js';
import { startFakeAuthorizationServer, type FakeAuthorizationServer } from './support/auth-fake-introspection.js';
import { HIGH_RATE_LIMITS } from './support/auth-instances.js';
import { expectHelmetHeaders, expectJsonBody, expectJsonRpcErrorBody } from './support/http-raw.js';
import { startInstance } from './support/instances.js';
import { freePort } from './support/redis-server.js';

const CLIENT_ID = 'mcp-resource-server';
const CLIENT_SECRET = 'introspection secret: with spaces & symbols';

describe.each([
  ['embedded', () => undefined],
  ['Redis', () => process.env.TEST_REDIS_URL],
])('AUTH_MODE=external on %s', (_name, redisUrl) => {
  let as: FakeAuthorizationServer;
  let server: RunningServer;
  let baseUri: string;
  let resource: string;

  async function startResourceServer(overrides: Record<string, string> = {}) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const instance = await startInstance(redisUrl(), {
      AUTH_MODE: 'external',
      AUTH_SERVER_URL: as.url,
      AUTH_INTROSPECTION_CLIENT_ID: CLIENT_ID,
      AUTH_INTROSPECTION_CLIENT_SECRET: CLIENT_SECRET,
      AUTH_INTROSPECTION_CACHE_S: '1',
      BASE_URI: base,
      PORT: String(port),
      ...HIGH_RATE_LIMITS,
      ...overrides,
    });
    return { instance, base };
  }

  beforeAll(async () => {
    as = await startFakeAuthorizationServer(CLIENT_ID, CLIENT_SECRET);
    ({ instance: server, base: baseUri } = await startResourceServer());
    resource = `${baseUri}/mcp`;
  });

  afterAll(async () => {
    await server?.stop();
    await as?.stop();
  });

  let counter = 0;
  function token(claims: Record<string, unknown>): string {
    const value = `ext-token-${++counter}-${Math.random().toString(36).slice(2)}`;
    as.tokens.set(value, { active: true, sub: `user-${counter}`, client_id: 'some-app', scope: 'mcp', exp: Math.floor(Date.now() / 1000) + 600, aud: resource, ...claims });
    return value;
  }

  async function initialize(url: string, bearer: string) {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'ext', version: '1' } } }),
    });
    return { response, body: await response.text() };
  }

  test('the resource metadata names the external authorization server; no OAuth endpoint runs here', async () => {
    const metadata = await (await fetch(`${baseUri}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(metadata).toMatchObject({ resource, authorization_servers: [as.url] });
    for (const path of ['/.well-known/oauth-authorization-server', '/authorize', '/token', '/register', '/fakeupstreamauth/authorize']) {
      expect((await fetch(`${baseUri}${path}`)).status).toBe(404);
    }
  });

  test('an active token for our audience is accepted; the session belongs to its subject', async () => {
    const bearer = token({ sub: 'ext-alice' });
    const before = as.calls.length;
    const { response } = await initialize(baseUri, bearer);
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id')!;
    expect(await server.runtime.backend.kv.get(keys.sessionOwner(sessionId))).toBe('ext-alice');
    // Introspection authenticated as our client (client_secret_basic, form-encoded credentials).
    const call = as.calls[before]!;
    expect(call.token).toBe(bearer);
    const expected = `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET).replace(/%20/g, '+')}`;
    expect(call.authorization).toBe(`Basic ${Buffer.from(expected).toString('base64')}`);
    // Another subject gets 404 for that session.
    const other = await fetch(`${baseUri}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token({ sub: 'ext-bob' })}`, 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    expect(other.status).toBe(404);
    await other.text();
  });

  test('answers are cached briefly: one introspection for repeated use, another after the cache time', async () => {
    const bearer = token({});
    const before = as.calls.filter((c) => c.token === bearer).length;
    for (let i = 0; i < 3; i++) expect((await initialize(baseUri, bearer)).response.status).toBe(200);
    expect(as.calls.filter((c) => c.token === bearer).length - before).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await initialize(baseUri, bearer)).response.status).toBe(200);
    expect(as.calls.filter((c) => c.token === bearer).length - before).toBe(2);
  });

  test.each([
    ['inactive', { active: false }],
    ['for another audience', { aud: 'https://other.example/mcp' }],
    ['without audience', { aud: undefined }],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 5 }],
    ['without a subject', { sub: undefined, username: undefined }],
  ])('a token %s gets 401 invalid_token with the challenge', async (_case, claims) => {
    const bearer = token(claims);
    const { response, body } = await initialize(baseUri, bearer);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${baseUri}/.well-known/oauth-protected-resource/mcp"`);
    expect(expectJsonBody(response.headers.get('content-type'), body)).toMatchObject({ error: 'invalid_token' });
  });

  test('an audience list that includes ours is accepted', async () => {
    expect((await initialize(baseUri, token({ aud: ['https://other.example', resource] }))).response.status).toBe(200);
  });

  test('wrong introspection credentials are a server problem: 503, not 401', async () => {
    const { instance, base } = await startResourceServer({ AUTH_INTROSPECTION_CLIENT_SECRET: 'wrong' });
    try {
      const { response, body } = await initialize(base, token({}));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expectHelmetHeaders(response.headers);
      expectJsonRpcErrorBody(response.headers.get('content-type'), body);
    } finally {
      await instance.stop();
    }
  });

  test('AUTH_INTROSPECTION_URL is used as given (no discovery)', async () => {
    const { instance, base } = await startResourceServer({ AUTH_INTROSPECTION_URL: `${as.url}/introspect`, AUTH_SERVER_URL: 'http://127.0.0.1:1' });
    try {
      expect((await initialize(base, token({ aud: `${base}/mcp` }))).response.status).toBe(200);
    } finally {
      await instance.stop();
    }
  });

  test('an unreachable authorization server gives 503 (a cached token keeps working meanwhile)', async () => {
    const cached = token({});
    expect((await initialize(baseUri, cached)).response.status).toBe(200);
    const { instance, base } = await startResourceServer({ AUTH_SERVER_URL: 'http://127.0.0.1:1', AUTH_INTROSPECTION_URL: 'http://127.0.0.1:1/introspect' });
    try {
      const { response, body } = await initialize(base, token({ aud: `${base}/mcp` }));
      expect(response.status).toBe(503);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expectJsonRpcErrorBody(response.headers.get('content-type'), body);
    } finally {
      await instance.stop();
    }
    // The same with discovery: the metadata itself is unreachable.
    const unreachable = await startResourceServer({ AUTH_SERVER_URL: 'http://127.0.0.1:1' });
    try {
      expect((await initialize(unreachable.base, token({ aud: `${unreachable.base}/mcp` }))).response.status).toBe(503);
    } finally {
      await unreachable.instance.stop();
    }
    expect((await initialize(baseUri, cached)).response.status).toBe(200);
  });
});
