/**
 * The Redis contract with authorization on: a verified token costs no Redis
 * command per request (so a tool call still costs 3), no connection is added,
 * revocations travel on mcp:auth:revocations without any token, envelopes carry
 * no token, and every auth and rate-limit key is namespaced, documented and has
 * a TTL. On a private Redis, so that command counts are this suite's alone.
 */
import { channels } from '../src/protocol/channels.js';
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { exchangeCode, pkce, actAsUser, authorizeUrl, authorizationParams, registerClient, refreshTokens, signIn, type Tokens } from './support/auth-flow.js';
import { sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let deployment: AuthDeployment;
let owner: string;
let edge: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
  // Both /mcp rate limits are on (high limits), as in production: their reservations are part of the budget.
  deployment = await startAuthDeployment(redis.url, 2, { RATE_LIMIT_MCP_PER_MINUTE: '100000', RATE_LIMIT_MCP_PER_USER_PER_MINUTE: '100000' });
  [owner, edge] = deployment.urls as [string, string];
});

afterAll(async () => {
  await deployment?.stop();
  await admin?.close();
  await redis?.stop();
});

const headers = (token: string, sessionId?: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
});

async function openSession(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: headers(token),
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'budget', version: '1' } } }),
  });
  await response.text();
  const sessionId = response.headers.get('mcp-session-id')!;
  await (await fetch(`${url}/mcp`, { method: 'POST', headers: headers(token, sessionId), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return sessionId;
}

async function echo(url: string, token: string, sessionId: string, id: number): Promise<string> {
  const response = await fetch(`${url}/mcp`, { method: 'POST', headers: headers(token, sessionId), body: JSON.stringify(toolCall(id, 'echo', { message: `call ${id}` })) });
  return sseMessages(await response.text())[0]?.result.content[0].text;
}

async function commandStats(): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  return Object.fromEntries([...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

test('authenticated tool calls: no Redis command for the token, ≤ 5 per call, no new connection', async () => {
  const { tokens } = await signIn(deployment.baseUri, 'budget');
  const sessionId = await openSession(owner, tokens.access_token);
  expect(await echo(edge, tokens.access_token, sessionId, 1)).toBe('Echo: call 1'); // warm: edge subscription and token cache
  const connectionsBefore = Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))![1]);
  const before = await commandStats();
  const started = Date.now();
  const calls = 40;
  for (let i = 0; i < calls; i++) expect(await echo(edge, tokens.access_token, sessionId, 10 + i)).toBe(`Echo: call ${10 + i}`);
  const elapsedS = (Date.now() - started) / 1000;
  const after = await commandStats();
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  // The /mcp rate limits: the warm-up call reserved a chunk of 10 000 per key (address, user), so the
  // calls need no reservation, unless the minute turned meanwhile (one more per key). Each
  // reservation is one EVAL, which runs GET, and INCRBY + PEXPIRE when it grants; tokens an
  // instance holds for a key idle there for 2 s go back with one EVAL running DECRBY.
  const giveBacks = delta('decrby');
  const reservations = delta('eval') - giveBacks;
  expect(reservations).toBeLessThanOrEqual(2 * (Math.floor(elapsedS / 60) + 1));
  expect(delta('evalsha')).toBe(0);
  // Token verification: not one read (GET/EXISTS would be the store lookups) during the calls.
  expect(delta('get')).toBe(reservations);
  expect(delta('exists')).toBe(0);
  // Whatever the session layer spends (SSUBSCRIBE, SPUBLISH, RPUSHX, SPUBLISH, SUNSUBSCRIBE), authorization
  // adds nothing per call: still ≤ 5 commands.
  const reservationCost = 2 * reservations + 2 * delta('incrby') + 2 * giveBacks; // EVAL + GET, INCRBY + PEXPIRE; EVAL + DECRBY
  const total = Object.keys(after).reduce((sum, name) => sum + delta(name), 0) - delta('info') - reservationCost;
  expect(total / calls).toBeLessThanOrEqual(5);
  const connectionsAfter = Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))![1]);
  expect(connectionsAfter).toBe(connectionsBefore);
  // Two connections per instance (commands + shared subscriber, which also carries revocations) + admin.
  expect((await admin.clientList()).length).toBe(5);
});

test('revocations travel on mcp:auth:revocations, name ids only, and reach every instance', async () => {
  const watcher = admin.duplicate();
  await watcher.connect();
  const messages: string[] = [];
  await watcher.subscribe('mcp:auth:revocations', (message) => void messages.push(message));
  try {
    const client = await registerClient(deployment.baseUri);
    const { verifier, challenge } = pkce();
    const response = await actAsUser(authorizeUrl(deployment.baseUri, authorizationParams(deployment.baseUri, client, challenge)), 'revoked');
    const tokens = (await exchangeCode(owner, client, response.code!, verifier)).body as unknown as Tokens;
    const sessionId = await openSession(edge, tokens.access_token); // edge caches the token
    const replay = await exchangeCode(owner, client, response.code!, verifier); // owner revokes the grant
    expect(replay.status).toBe(400);
    await waitUntil(() => messages.length >= 1, 2000, 'revocation message');
    const message = JSON.parse(messages[0]!) as Record<string, unknown>;
    expect(message).toEqual({ v: 1, type: 'grant', grantId: expect.stringMatching(/^[0-9a-f]{32}$/), reason: 'authorization code replayed' });
    for (const secret of [tokens.access_token, tokens.refresh_token, response.code!]) expect(messages[0]).not.toContain(secret);
    // The edge had the token cached; the message evicted it there.
    const after = await fetch(`${edge}/mcp`, { method: 'POST', headers: headers(tokens.access_token, sessionId), body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }) });
    expect(after.status).toBe(401);
    await after.text();
  } finally {
    await watcher.close();
  }
});

test('envelopes never carry the bearer token', async () => {
  const { tokens } = await signIn(deployment.baseUri, 'envelopes');
  const sessionId = await openSession(owner, tokens.access_token);
  const watcher = admin.duplicate();
  await watcher.connect();
  const payloads: string[] = [];
  // The session's channels are sharded: named one by one (a pattern would hear nothing).
  await watcher.sSubscribe([channels.toServer(sessionId), channels.toClient(sessionId, 'n:2')], (message) => void payloads.push(message));
  try {
    expect(await echo(edge, tokens.access_token, sessionId, 2)).toBe('Echo: call 2');
    await waitUntil(() => payloads.length >= 2, 2000, 'envelopes seen');
    expect(payloads.some((payload) => payload.includes('"principal"'))).toBe(true);
  } finally {
    await watcher.close();
  }
  for (const payload of payloads) {
    expect(payload).not.toContain(tokens.access_token);
    expect(JSON.parse(payload).principal ?? { userId: 'envelopes' }).toMatchObject({ userId: 'envelopes' });
  }
});

test('every auth and rate-limit key is namespaced, documented in docs/redis.md, and has a TTL', async () => {
  const { client, tokens } = await signIn(deployment.baseUri, 'keys');
  await refreshTokens(owner, client, tokens.refresh_token); // rotation marks
  await openSession(edge, tokens.access_token);
  // An unfinished flow leaves its pending request and upstream code.
  const started = await registerClient(deployment.baseUri);
  await fetch(authorizeUrl(deployment.baseUri, authorizationParams(deployment.baseUri, started, pkce().challenge))).then((r) => r.text());
  const patterns: Array<[RegExp, string]> = [
    [/^mcp:auth:client:[0-9a-f-]{36}$/, 'mcp:auth:client:{clientId}'],
    [/^mcp:auth:pending:[0-9a-f]{64}(:used)?$/, 'mcp:auth:pending:{hash}'],
    [/^mcp:auth:upstream:[0-9a-f]{64}(:used)?$/, 'mcp:auth:upstream:{hash}'],
    [/^mcp:auth:code:[0-9a-f]{64}(:used)?$/, 'mcp:auth:code:{hash}'],
    [/^mcp:auth:access:[0-9a-f]{64}$/, 'mcp:auth:access:{hash}'],
    [/^mcp:auth:refresh:[0-9a-f]{64}(:used)?$/, 'mcp:auth:refresh:{hash}'],
    [/^mcp:auth:grant:[0-9a-f]{32}$/, 'mcp:auth:grant:{grantId}'],
    [/^mcp:ratelimit:(register|authorize|token|revoke|idp):.+$/, 'mcp:ratelimit:{name}:{ip}'],
    [/^mcp:ratelimit:mcp:.+:\d+$/, 'mcp:ratelimit:mcp:{ip}:{window}'],
    [/^mcp:ratelimit:mcp-user:.+:\d+$/, 'mcp:ratelimit:mcp-user:{userId}:{window}'],
  ];
  const docs = readFileSync('docs/redis.md', 'utf8');
  for (const [, documented] of patterns) expect(docs).toContain(documented);
  const seen = new Set<string>();
  for await (const batch of admin.scanIterator({ MATCH: '*', COUNT: 500 })) {
    for (const key of batch) {
      if (!key.startsWith('mcp:auth:') && !key.startsWith('mcp:ratelimit:')) continue; // the session layer's keys: see redis-contract
      const match = patterns.find(([pattern]) => pattern.test(key));
      expect(`${key} ${match ? 'documented' : 'not documented'}`).toBe(`${key} documented`);
      seen.add(match![1]);
      expect(await admin.pTTL(key)).toBeGreaterThan(0);
    }
  }
  for (const kind of ['mcp:auth:client:{clientId}', 'mcp:auth:pending:{hash}', 'mcp:auth:code:{hash}', 'mcp:auth:access:{hash}', 'mcp:auth:refresh:{hash}', 'mcp:auth:grant:{grantId}', 'mcp:ratelimit:mcp:{ip}:{window}', 'mcp:ratelimit:mcp-user:{userId}:{window}']) {
    expect(seen).toContain(kind);
  }
});
