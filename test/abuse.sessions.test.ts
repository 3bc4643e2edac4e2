/**
 * What one user may make the service run: live sessions per user,
 * on all instances together (MAX_SESSIONS_PER_USER); requests in flight per
 * session (MAX_INFLIGHT_PER_SESSION) and per user on the instance running them
 * (MAX_INFLIGHT_PER_USER); resource subscriptions per user on the instance running
 * the sessions (MAX_SUBSCRIPTIONS_PER_USER); sessions per instance (MAX_SESSIONS_PER_INSTANCE).
 * Each refusal names its setting, and another user is served meanwhile.
 */
import { authBackendCases, authDeploymentForSuite } from './support/auth-instances.js';
import { freshUser, freshUserWithId } from './support/auth-flow.js';
import { expectServed } from './support/abuse.js';
import { startInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import type { RunningServer } from '../src/server.js';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'abuse', version: '1' } },
};

type ErrorBody = { error: { code: number; message: string; data?: { limit: string; max: number; scope: string } } };

async function initialize(url: string, token?: string): Promise<Response> {
  return fetch(`${url}/mcp`, { method: 'POST', headers: mcpHeaders(token), body: JSON.stringify(INITIALIZE) });
}

function cancel(requestId: number) {
  return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'done with it' } };
}

describe.each(
  authBackendCases({ MAX_SESSIONS_PER_USER: '3', MAX_INFLIGHT_PER_SESSION: '2', MAX_INFLIGHT_PER_USER: '3' }),
)(
  'per-user budgets on %s',
  (_name, start) => {
    const suite = authDeploymentForSuite(start);
    /** A fresh user for each role of each test: every session a test opens counts against its user. */
    const user = (name: string) => freshUser(suite.base, name);

    test('live sessions per user hold across instances: 429 naming MAX_SESSIONS_PER_USER; a deleted one frees its place', async () => {
      const [alice, bob] = [await user('alice'), await user('bob')];
      const sessions = [await openSession(suite.A, alice), await openSession(suite.B, alice), await openSession(suite.A, alice)];
      const refused = await initialize(suite.B, alice);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await refused.json()) as ErrorBody;
      expect(body.error.message).toContain('MAX_SESSIONS_PER_USER');
      expect(body.error.data).toEqual({ limit: 'MAX_SESSIONS_PER_USER', max: 3, scope: 'user' });
      // A legacy stream is a session too.
      const legacy = await fetch(`${suite.A}/sse`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${alice}` } });
      expect(legacy.status).toBe(429);
      await legacy.text();
      await expectServed(suite.B, bob);
      const deleted = await fetch(`${suite.B}/mcp`, { method: 'DELETE', headers: mcpHeaders(alice, sessions[0]) });
      expect(deleted.status).toBe(200);
      const admitted = await initialize(suite.A, alice);
      expect(admitted.status).toBe(200);
      await admitted.text();
    });

    test('requests in flight per session: past MAX_INFLIGHT_PER_SESSION a request is answered with an error naming it', async () => {
      const [carol, bob] = [await user('carol'), await user('bob2')];
      const sessionId = await openSession(suite.A, carol);
      const running = [1, 2].map((id) => post(suite.B, sessionId, toolCall(id, 'longRunningOperation', { duration: 10, steps: 2 }), undefined, carol));
      await waitUntil(async () => {
        const probe = await post(suite.B, sessionId, toolCall(99, 'echo', { message: 'room?' }), undefined, carol);
        const [answer] = sseMessages(await probe.text());
        return answer?.error?.data?.limit === 'MAX_INFLIGHT_PER_SESSION';
      }, 5000, 'the third request refused');
      const refused = sseMessages(await (await post(suite.A, sessionId, toolCall(3, 'echo', { message: 'third' }), undefined, carol)).text())[0]!;
      expect(refused.id).toBe(3);
      expect(refused.error.code).toBe(-32000);
      expect(refused.error.message).toContain('MAX_INFLIGHT_PER_SESSION');
      await expectServed(suite.A, bob);
      // Cancelled, the running calls free their places.
      for (const id of [1, 2]) await (await post(suite.B, sessionId, cancel(id), undefined, carol)).text();
      await Promise.all(running.map(async (r) => (await r).text()));
      const admitted = sseMessages(await (await post(suite.B, sessionId, toolCall(4, 'echo', { message: 'fourth' }), undefined, carol)).text())[0]!;
      expect(admitted.result.content[0].text).toBe('Echo: fourth');
    });

    test('requests in flight per user, over the sessions one instance runs: past MAX_INFLIGHT_PER_USER an error names it', async () => {
      const [[bobId, bob], alice] = [await freshUserWithId(suite.base, 'bob3'), await user('alice3')];
      const bobs = [await openSession(suite.A, bob), await openSession(suite.A, bob)];
      const running = [
        post(suite.B, bobs[0]!, toolCall(1, 'longRunningOperation', { duration: 10, steps: 2 }), undefined, bob),
        post(suite.B, bobs[0]!, toolCall(2, 'longRunningOperation', { duration: 10, steps: 2 }), undefined, bob),
        post(suite.B, bobs[1]!, toolCall(1, 'longRunningOperation', { duration: 10, steps: 2 }), undefined, bob),
      ];
      // The three are running at the owner (A) before the fourth is sent: sent together, a fourth could
      // overtake one of them and take its place.
      const owner = suite.deployment.servers[0]!.runtime;
      const inFlight = () => bobs.reduce((sum, id) => sum + (owner.host.owned(id, bobId)?.holding().inFlight ?? 0), 0);
      await waitUntil(() => inFlight() === 3, 5000, 'three calls running');
      const refused = sseMessages(await (await post(suite.B, bobs[1]!, toolCall(7, 'echo', { message: 'x' }), undefined, bob)).text())[0];
      expect(refused?.error?.data?.limit).toBe('MAX_INFLIGHT_PER_USER');
      expect(refused!.error.message).toContain('MAX_INFLIGHT_PER_USER');
      expect(refused!.error.data.scope).toBe('user');
      // Another user, on the same instance, is not affected.
      await expectServed(suite.A, alice);
      await (await post(suite.B, bobs[0]!, cancel(1), undefined, bob)).text();
      await (await post(suite.B, bobs[0]!, cancel(2), undefined, bob)).text();
      await (await post(suite.B, bobs[1]!, cancel(1), undefined, bob)).text();
      await Promise.all(running.map(async (r) => (await r).text()));
      await expectServed(suite.A, bob);
    });
  },
);

describe.each(authBackendCases({ MAX_SUBSCRIPTIONS_PER_USER: '150' }))('resource subscriptions on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);
  const user = (name: string) => freshUser(suite.base, name);

  test('resource subscriptions per user, over the sessions one instance runs: past MAX_SUBSCRIPTIONS_PER_USER an error names it', async () => {
    const [dora, erin] = [await user('dora'), await user('erin')];
    const subscribe = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'resources/subscribe', params: { uri: `test://static/resource/${((from + i) % 100) + 1}` } }));
    const [first, second] = [await openSession(suite.A, dora), await openSession(suite.A, dora)];
    const answers = async (sessionId: string, batch: unknown[], token: string) => sseMessages(await (await post(suite.B, sessionId, batch, undefined, token)).text());
    expect((await answers(first, subscribe(0, 100), dora)).every((a) => a.result)).toBe(true);
    expect((await answers(second, subscribe(0, 50), dora)).every((a) => a.result)).toBe(true);
    const [refused] = await answers(second, subscribe(50, 1), dora);
    expect(refused!.error.code).toBe(-32000);
    expect(refused!.error.message).toContain('MAX_SUBSCRIPTIONS_PER_USER');
    expect(refused!.error.data).toEqual({ limit: 'MAX_SUBSCRIPTIONS_PER_USER', max: 150, scope: 'user' });
    // Another user is not affected.
    const erins = await openSession(suite.A, erin);
    expect((await answers(erins, subscribe(0, 10), erin)).every((a) => a.result)).toBe(true);
    // An unsubscribe, or the end of a session, gives its subscriptions back.
    const unsubscribe = { jsonrpc: '2.0', id: 900, method: 'resources/unsubscribe', params: { uri: 'test://static/resource/1' } };
    expect((await answers(first, [unsubscribe], dora))[0]!.result).toEqual({});
    expect((await answers(second, subscribe(50, 1), dora))[0]!.result).toEqual({});
    expect((await fetch(`${suite.B}/mcp`, { method: 'DELETE', headers: mcpHeaders(dora, first) })).status).toBe(200);
    await waitUntil(async () => (await answers(second, subscribe(60, 1), dora))[0]?.result !== undefined, 3000, 'places freed by the deleted session');
  });
});

describe('sessions held by one instance', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startInstance(undefined, { MAX_SESSIONS_PER_INSTANCE: '2' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('past MAX_SESSIONS_PER_INSTANCE a new session gets 503 with Retry-After, naming it; sessions already there are served', async () => {
    const first = await openSession(server.url);
    await openSession(server.url);
    const refused = await initialize(server.url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.data).toEqual({ limit: 'MAX_SESSIONS_PER_INSTANCE', max: 2, scope: 'instance' });
    const reply = sseMessages(await (await post(server.url, first, toolCall(1, 'echo', { message: 'in' }))).text())[0]!;
    expect(reply.result.content[0].text).toBe('Echo: in');
  });
});
