/**
 * Redis at maxmemory (noeviction) refuses writes. Running work must
 * not die of it: instance leases and session keys are renewed with commands Redis
 * still allows (PEXPIRE), so a call that outlives several lease periods finishes
 * with its result, and other sessions go on; new sessions are refused with 503
 * until Redis has room again. On a private Redis, with two instances.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let deployment: AuthDeployment;

const LEASE_MS = 2000;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
  deployment = await startAuthDeployment(redis.url, 2, { INSTANCE_LEASE_TTL_MS: String(LEASE_MS) });
});

afterAll(async () => {
  await admin?.configSet('maxmemory', '0').catch(() => undefined);
  await deployment?.stop();
  await admin?.close();
  await redis?.stop();
});

test('a call running through several lease periods at maxmemory finishes with its result; other sessions are served; new ones get 503 until there is room', async () => {
  const [A, B] = deployment.urls as [string, string];
  const alice = (await signIn(deployment.baseUri, `alice-${randomUUID()}`)).tokens.access_token;
  const bob = (await signIn(deployment.baseUri, `bob-${randomUUID()}`)).tokens.access_token;
  const aliceSession = await openSession(A, alice);
  const bobSession = await openSession(A, bob);
  // Warm bob's path (token verified and cached, session known to B) before Redis fills up.
  await (await post(B, bobSession, toolCall(1, 'echo', { message: 'warm' }), undefined, bob)).text();

  const call = post(B, aliceSession, toolCall(2, 'longRunningOperation', { duration: 8, steps: 8 }, 'progress'), undefined, alice).then((r) => r.text());

  await admin.configSet('maxmemory-policy', 'noeviction');
  const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  // Below what Redis uses now: the memory it uses moves a little, and a limit just at it may let a write in.
  await admin.configSet('maxmemory', String(Math.max(1024 * 1024, used - 256 * 1024)));
  await expect(admin.set('probe', 'x'.repeat(10_000))).rejects.toThrow(/OOM/);

  // Three lease periods under pressure: a lease renewed with SET would have lapsed.
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 3));
  expect(await admin.exists(deployment.servers.map((s) => `mcp:instance:${s.runtime.instanceId}:lease`))).toBe(2);
  const echo = sseMessages(await (await post(B, bobSession, toolCall(3, 'echo', { message: 'under pressure' }), undefined, bob)).text());
  expect(echo[0]?.result.content[0].text).toBe('Echo: under pressure');
  const refused = await fetch(`${A}/mcp`, {
    method: 'POST',
    headers: mcpHeaders(bob),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('1');
  await refused.text();

  const messages = sseMessages(await call);
  expect(messages.filter((m) => m.method === 'notifications/progress').length).toBeGreaterThanOrEqual(7);
  expect(messages.at(-1)).toMatchObject({ id: 2, result: { content: [{ text: expect.stringContaining('completed') }] } });

  await admin.configSet('maxmemory', '0');
  expect(await openSession(B, bob)).toMatch(/^[0-9a-f-]{36}$/);
}, 30_000);
