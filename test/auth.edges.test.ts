/**
 * The hardened edges (issue items 6 and 7): helmet headers on every answer of
 * the auth endpoints, 401s and our pages included; CORS for browser clients;
 * Origin/Host validation (403); rate limits on every OAuth and IdP endpoint and
 * on /mcp, shared by instances through Redis; X-Forwarded-For trusted only with
 * TRUST_PROXY; AUTH_MODE=none; configuration errors naming their variable.
 */
import { keys } from '../src/protocol/channels.js';
import { ConfigError, loadConfig } from '../src/config.js';
import type { RunningServer } from '../src/server.js';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { authorizationParams, authorizeUrl, inputValue, pkce, registerClient, signIn } from './support/auth-flow.js';
import { expectPageHeaders } from './support/auth-pages.js';
import { expectHelmetHeaders, expectJsonBody, headerList, rawRequest } from './support/http-raw.js';
import { startInstance } from './support/instances.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';

const ORIGIN = 'http://localhost:5173';
const EVIL = 'http://evil.example';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('helmet, CORS, Origin and Host on the auth endpoints', () => {
  let deployment: AuthDeployment;
  let base: string;

  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1);
    base = deployment.baseUri;
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('helmet headers on JSON answers: metadata, 400, 401 (token endpoint and /mcp), 404', async () => {
    const client = await registerClient(base);
    const answers = await Promise.all([
      fetch(`${base}/.well-known/oauth-authorization-server`),
      fetch(`${base}/.well-known/oauth-protected-resource/mcp`),
      fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${client.client_id}` }),
      fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=nobody' }),
      fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      fetch(`${base}/fakeupstreamauth/callback`),
      fetch(`${base}/no-such-route`),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 401, 401, 400, 404]);
    for (const answer of answers) {
      expectHelmetHeaders(answer.headers);
      expectJsonBody(answer.headers.get('content-type'), await answer.text());
    }
  });

  test('helmet headers (and the pages’ own CSP) on the consent page, the IdP page and the 400 page', async () => {
    const client = await registerClient(base, { client_name: '<b>Bold & "quoted"</b>' });
    const consent = await fetch(authorizeUrl(base, authorizationParams(base, client, pkce().challenge)));
    const consentHtml = await consent.text();
    expectPageHeaders(consent.headers);
    expect(consentHtml).toContain('<strong id="client-name">&lt;b&gt;Bold &amp; &quot;quoted&quot;&lt;/b&gt;</strong>');
    expect(consentHtml).toContain(`<code id="redirect-uri">${client.redirect_uris[0]}</code>`);
    expect(consentHtml).not.toContain('<script');
    const approved = await fetch(`${base}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending: inputValue(consentHtml, 'pending'), decision: 'approve' }).toString(),
    });
    expectHelmetHeaders(approved.headers);
    const idp = await fetch(new URL(approved.headers.get('location')!, base));
    await idp.text();
    expectPageHeaders(idp.headers);
    const badRedirect = await fetch(authorizeUrl(base, authorizationParams(base, client, pkce().challenge, { redirect_uri: 'http://127.0.0.1:2/x' })));
    expect(badRedirect.status).toBe(400);
    await badRedirect.text();
    expectPageHeaders(badRedirect.headers);
  });

  test('CORS: a browser client may preflight and read 401 challenges, metadata and token answers', async () => {
    const preflight = await fetch(`${base}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(headerList(preflight.headers.get('access-control-allow-headers'))).toEqual(expect.arrayContaining(['authorization', 'mcp-session-id', 'mcp-protocol-version']));
    const challenge = await fetch(`${base}/mcp`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: '{}' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(headerList(challenge.headers.get('access-control-expose-headers'))).toEqual(expect.arrayContaining(['www-authenticate', 'mcp-session-id']));
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server']) {
      const metadata = await fetch(`${base}${path}`, { headers: { origin: ORIGIN } });
      expect(metadata.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:5173)$/);
    }
    const token = await fetch(`${base}/token`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' });
    expect(token.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:5173)$/);
  });

  test.each([
    ['GET', '/.well-known/oauth-authorization-server'],
    ['GET', '/authorize?client_id=x'],
    ['POST', '/consent'],
    ['POST', '/token'],
    ['POST', '/register'],
    ['POST', '/revoke'],
    ['GET', '/fakeupstreamauth/authorize?state=x'],
    ['GET', '/fakeupstreamauth/callback?state=x&code=y&userId=z'],
    ['POST', '/mcp'],
  ])('%s %s from a foreign Origin, or with a foreign Host, is 403', async (method, path) => {
    const url = new URL(base);
    const variants: Array<Record<string, string>> = [{ host: url.host, origin: EVIL }, { host: 'evil.example' }];
    for (const headers of variants) {
      const answer = await rawRequest(base, { method, path, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? '' : undefined });
      expect(answer.status).toBe(403);
      expectHelmetHeaders(answer.headers);
      expectJsonBody(answer.headers['content-type'], answer.body);
    }
  });
});

describe('rate limits shared through Redis', () => {
  let redis: PrivateRedis;
  let deployment: AuthDeployment;
  let A: string;
  let B: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    deployment = await startAuthDeployment(redis.url, 2, {
      RATE_LIMIT_REGISTER: '3',
      RATE_LIMIT_AUTHORIZE: '3',
      RATE_LIMIT_TOKEN: '3',
      RATE_LIMIT_REVOKE: '3',
      RATE_LIMIT_IDP: '3',
      RATE_LIMIT_MCP_PER_MINUTE: '5',
    });
    [A, B] = deployment.urls as [string, string];
  });

  afterAll(async () => {
    await deployment?.stop();
    await redis?.stop();
  });

  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  /** Every test starts with empty counters. */
  async function resetCounters() {
    const admin = deployment.servers[0]!.runtime.backend.redis!;
    const keys = await admin.keys('mcp:ratelimit:*');
    if (keys.length > 0) await admin.del(keys);
  }

  test.each([
    ['register', 'POST', '/register', { 'content-type': 'application/json' }, '{}'],
    ['authorize', 'GET', '/authorize?client_id=x', {}, undefined],
    ['authorize', 'POST', '/consent', form, 'pending=x&decision=approve'],
    ['token', 'POST', '/token', form, 'grant_type=refresh_token'],
    ['revoke', 'POST', '/revoke', form, 'token=x'],
    ['idp', 'GET', '/fakeupstreamauth/authorize?state=x', {}, undefined],
  ])('%s (%s %s): the 4th request within the window, on either instance, gets 429', async (name, method, path, headers, body) => {
    await resetCounters();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${[A, B][i % 2]}${path}`, { method, headers, body, redirect: 'manual' });
      statuses.push(response.status);
      const text = await response.text();
      if (response.status === 429) {
        expect(expectJsonBody(response.headers.get('content-type'), text)).toMatchObject({ error: 'too_many_requests' });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(response.headers.get('ratelimit-policy')).toMatch(/^3;w=\d+/);
        expectHelmetHeaders(response.headers);
      }
    }
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
    const admin = deployment.servers[0]!.runtime.backend.redis!;
    const keys = await admin.keys(`mcp:ratelimit:${name}:*`);
    expect(keys.length).toBe(1);
    const ttl = await admin.pTTL(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(900_000);
  });

  test('/mcp: shared by the instances from the first request, so hits on A count on B', async () => {
    await resetCounters();
    const { tokens } = await signIn(deployment.baseUri, 'limited'); // 2 of 3 on authorize and on idp, 1 on the rest
    await resetCounters();
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 3000) await sleep(left + 20); // the five calls below share one one-minute window
    const call = async (url: string) => {
      const response = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
      });
      const text = await response.text();
      return { status: response.status, text, headers: response.headers };
    };
    for (let i = 0; i < 3; i++) expect((await call(A)).status).toBe(200);
    expect((await call(B)).status).toBe(200); // 4 of 5: no sync to wait for
    expect((await call(B)).status).toBe(200); // 5 of 5
    const refused = await call(B); // 6 of 5
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, data: { limit: 'RATE_LIMIT_MCP_PER_MINUTE', max: 5, scope: 'address' } } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expectHelmetHeaders(refused.headers);
    expect((await call(A)).status).toBe(429);
    const admin = deployment.servers[0]!.runtime.backend.redis!;
    const [key] = await admin.keys('mcp:ratelimit:mcp:*');
    expect(Number(await admin.get(key!))).toBe(5); // reserved, all spent, never past the limit
    expect(await admin.pTTL(key!)).toBeGreaterThan(0);
  });
});

describe('X-Forwarded-For and TRUST_PROXY', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function hits(trustProxy: string | undefined, forwarded: string[]): Promise<number[]> {
    const deployment = await startAuthDeployment(undefined, 1, { RATE_LIMIT_REGISTER: '2', ...(trustProxy ? { TRUST_PROXY: trustProxy } : {}) });
    servers.push(...deployment.servers);
    const statuses: number[] = [];
    for (const ip of forwarded) {
      const response = await fetch(`${deployment.baseUri}/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: '{}' });
      await response.text();
      statuses.push(response.status);
    }
    return statuses;
  }

  test('without TRUST_PROXY a forged X-Forwarded-For does not get a fresh limit', async () => {
    expect(await hits(undefined, ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'])).toEqual([400, 400, 429, 429]);
  });

  test('with TRUST_PROXY=1 the proxy-given address is the client', async () => {
    expect(await hits('1', ['1.1.1.1', '2.2.2.2', '3.3.3.3', '1.1.1.1', '1.1.1.1'])).toEqual([400, 400, 400, 400, 429]);
  });
});

describe('AUTH_MODE=none', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startInstance(undefined, { AUTH_MODE: 'none' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('serves /mcp to everyone as the anonymous user, and no OAuth endpoint exists', async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(response.status).toBe(200);
    await response.text();
    const sessionId = response.headers.get('mcp-session-id')!;
    expect(await server.runtime.backend.kv.get(keys.sessionOwner(sessionId))).toBe('anonymous');
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource/mcp', '/authorize', '/register', '/fakeupstreamauth/authorize']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(404);
    }
  });
});

describe('configuration errors name their variable in one line', () => {
  test.each([
    [{ AUTH_MODE: 'external' }, 'AUTH_SERVER_URL'],
    [{ AUTH_MODE: 'external', AUTH_SERVER_URL: 'https://idp.example' }, 'AUTH_INTROSPECTION_CLIENT_ID'],
    [{ AUTH_MODE: 'external', AUTH_SERVER_URL: 'https://idp.example', AUTH_INTROSPECTION_CLIENT_ID: 'rs' }, 'AUTH_INTROSPECTION_CLIENT_SECRET'],
    [{ AUTH_MODE: 'internal', BASE_URI: 'http://mcp.example.com' }, 'BASE_URI'],
    [{ AUTH_MODE: 'internal', BASE_URI: 'https://mcp.example.com/prefix' }, 'BASE_URI'],
    [{ RATE_LIMIT_TOKEN: '-1' }, 'RATE_LIMIT_TOKEN'],
    [{ RATE_LIMIT_MCP_PER_MINUTE: 'lots' }, 'RATE_LIMIT_MCP_PER_MINUTE'],
    [{ AUTH_INTROSPECTION_CACHE_S: '3600' }, 'AUTH_INTROSPECTION_CACHE_S'],
    [{ AUTH_INTROSPECTION_URL: 'ftp://idp.example/introspect' }, 'AUTH_INTROSPECTION_URL'],
    // Instances sharing Redis must share the key that seals 2026-07-28 request state.
    [{ REDIS_URL: 'redis://127.0.0.1:6379' }, 'REQUEST_STATE_KEY'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', REQUEST_STATE_KEY: 'too-short' }, 'REQUEST_STATE_KEY'],
    [{ REQUEST_STATE_KEY: 'k'.repeat(32), REQUEST_STATE_KEY_PREVIOUS: 'short' }, 'REQUEST_STATE_KEY_PREVIOUS'],
  ])('%j → %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env as NodeJS.ProcessEnv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${variable}: `));
    expect(message).not.toContain('\n');
  });

  test('defaults: internal mode, https or loopback issuer, limits on, none mode without an /mcp limit', () => {
    const internal = loadConfig({});
    expect(internal.authMode).toBe('internal');
    expect(internal.rateLimits).toEqual({ windowMs: 900_000, register: 20, authorize: 100, token: 50, revoke: 50, idp: 100, mcpPerMinute: 1200, mcpPerUserPerMinute: 1200 });
    expect(loadConfig({ AUTH_MODE: 'none' }).rateLimits).toMatchObject({ mcpPerMinute: 0, mcpPerUserPerMinute: 0 });
    expect(loadConfig({ AUTH_MODE: 'none', RATE_LIMIT_MCP_PER_MINUTE: '60' }).rateLimits.mcpPerMinute).toBe(60);
    expect(loadConfig({ BASE_URI: 'https://mcp.example.com' }).baseUri).toBe('https://mcp.example.com');
    expect(loadConfig({ AUTH_MODE: 'none', BASE_URI: 'http://mcp.example.com/prefix' }).baseUri).toBe('http://mcp.example.com/prefix');
    // Embedded, each process seals with a key of its own: two loads, two keys of 32 bytes.
    const [first, second] = [loadConfig({}).modern.requestStateKey, loadConfig({}).modern.requestStateKey];
    expect(Buffer.from(first, 'base64url')).toHaveLength(32);
    expect(first).not.toBe(second);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REQUEST_STATE_KEY: 'k'.repeat(32) }).modern.requestStateKey).toBe('k'.repeat(32));
  });
});
