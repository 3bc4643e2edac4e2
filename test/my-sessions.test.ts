/**
 * The "my sessions" pages over HTTP, on both backends: a browser signs in
 * through the server's own authorization server and fake IdP and gets a
 * sealed cookie; it lists its user's sessions as every instance sees them
 * (made through another instance than the one asked); it taps one session's
 * messages, both directions, as they cross the bus. Strictly per user: another
 * user's session is neither listed nor tappable (404, like an unknown one).
 * Taps are open streams: they count against MAX_STREAMS_PER_USER, and a
 * second user stays served when one user reached it.
 */
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { actAsUser, freshUserWithId, mySessionsCookie, setCookie } from './support/auth-flow.js';
import { authBackendCases, authDeploymentForSuite, startAuthDeployment } from './support/auth-instances.js';
import { sseEventReader } from './support/http-raw.js';
import { connectWithToken } from './support/mcp-client.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';

jest.setTimeout(60_000);

const connectAs = (url: string, token: string, name = 'my-sessions-test') => connectWithToken(url, token, name, '2.5.0');

const list = async (url: string, cookie: string) => {
  const response = await fetch(`${url}/my/sessions`, { headers: { cookie, accept: 'application/json' } });
  expect(response.status).toBe(200);
  return (await response.json()) as { sessions: Array<Record<string, any>>; instances: { answered: number; heard: number } };
};

const openTap = (url: string, sessionId: string, cookie?: string, signal?: AbortSignal) =>
  fetch(`${url}/my/sessions/${sessionId}/tap`, { headers: { ...(cookie && { cookie }), accept: 'text/event-stream' }, signal });

describe.each(authBackendCases())('my sessions (%s)', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  test('signing in goes through the authorization server and the fake IdP, and ends with a cookie naming the user', async () => {
    const userId = `viewer-${randomUUID()}`;
    const anonymous = await fetch(`${suite.A}/my`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/my/login');

    const login = await fetch(`${suite.A}/my/login`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin + authorize.pathname).toBe(`${suite.base}/authorize`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${suite.base}/my/callback`);
    const signInCookie = login.headers.getSetCookie().find((line) => line.startsWith('mcp_my_sign_in='))!;
    expect(signInCookie).toMatch(/HttpOnly/i);
    expect(signInCookie).toMatch(/SameSite=Lax/i);
    expect(signInCookie).toMatch(/Path=\/my/);

    const cookie = await mySessionsCookie(suite.B, userId);
    const page = await fetch(`${suite.A}/my`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(await page.text()).toContain(`<code id="user-id">${userId}</code>`);

    const signedOut = await fetch(`${suite.A}/my/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.getSetCookie().join('\n')).toMatch(/mcp_my_session=;.*Expires=Thu, 01 Jan 1970/);
  });

  test('a callback that does not match its sign-in is refused, and no cookie is set', async () => {
    const login = await fetch(`${suite.A}/my/login`, { redirect: 'manual' });
    const signInCookie = setCookie(login.headers, 'mcp_my_sign_in')!;
    const response = await actAsUser(login.headers.get('location')!, `x-${randomUUID()}`, {
      rewrite: (url) => Object.assign(new URL(url), { host: new URL(suite.A).host }),
    });
    const callback = new URL(`${suite.A}/my/callback`);
    callback.search = response.location.search;

    // Without the browser's sign-in cookie (another browser), with another state, or a forged cookie.
    const noCookie = await fetch(callback, { redirect: 'manual' });
    expect(noCookie.status).toBe(400);
    const otherState = new URL(callback);
    otherState.searchParams.set('state', 'not-the-one');
    const wrongState = await fetch(otherState, { headers: { cookie: signInCookie }, redirect: 'manual' });
    expect(wrongState.status).toBe(400);
    const forged = await fetch(callback, { headers: { cookie: `${signInCookie.slice(0, -4)}AAAA` }, redirect: 'manual' });
    expect(forged.status).toBe(400);
    for (const refused of [noCookie, wrongState, forged]) expect(setCookie(refused.headers, 'mcp_my_session')).toBeUndefined();
    // The state and the cookie are checked before the code is spent: the right browser still completes.
    const good = await fetch(callback, { headers: { cookie: signInCookie }, redirect: 'manual' });
    expect(good.status).toBe(302);
    expect(setCookie(good.headers, 'mcp_my_session')).toBeDefined();
    // A replayed code is refused.
    const replay = await fetch(callback, { headers: { cookie: signInCookie }, redirect: 'manual' });
    expect(replay.status).toBe(400);
  });

  test("the list shows the user's sessions as every instance sees them, and nothing of another user's", async () => {
    const [userId, token] = await freshUserWithId(suite.base, 'lister');
    const [, otherToken] = await freshUserWithId(suite.base, 'other');
    const mine = await connectAs(suite.B, token);
    const theirs = await connectAs(suite.B, otherToken, 'someone-else');
    try {
      await mine.client.subscribeResource({ uri: 'test://static/resource/1' });
      const cookie = await mySessionsCookie(suite.A, userId);
      const ownerInstance = suite.deployment.servers.at(-1)!.runtime.instanceId;

      // A long call holds a request stream open on the instance it was sent to, and a request in flight at the owner.
      const controller = new AbortController();
      const long = fetch(`${suite.A}/mcp`, {
        method: 'POST',
        headers: { ...mcpHeaders(token, mine.sessionId), 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify(toolCall(99, 'longRunningOperation', { duration: 3, steps: 3 })),
        signal: controller.signal,
      });
      let view: Record<string, any> | undefined;
      await waitUntil(async () => {
        view = (await list(suite.A, cookie)).sessions.find((s) => s.sessionId === mine.sessionId);
        return view?.inFlight === 1 && view.streams.request === 1;
      }, 8000, 'the long call listed');
      expect(view).toMatchObject({
        era: 'sessionful',
        transport: 'shttp',
        protocolVersion: '2025-11-25',
        client: { name: 'my-sessions-test', version: '2.5.0' },
        instanceId: ownerInstance,
        subscriptions: ['test://static/resource/1'],
        runningTasks: 0,
      });
      expect(view!.createdAt).toBeGreaterThan(Date.now() - 60_000);
      expect(view!.lastActivity).toBeGreaterThanOrEqual(view!.createdAt);
      const all = await list(suite.A, cookie);
      expect(all.sessions.map((s) => s.sessionId)).toEqual([mine.sessionId]);
      // Every instance on the Redis heard the ask and answered (other suites' instances share the run's Redis).
      expect(all.instances.answered).toBe(all.instances.heard);
      expect(all.instances.answered).toBeGreaterThanOrEqual(suite.deployment.servers.length);
      controller.abort();
      await long.catch(() => undefined);
    } finally {
      await mine.client.close();
      await theirs.client.close();
    }
  });

  test('the tap shows a call and its reply as they cross; another user gets 404 for it, as for an unknown session', async () => {
    const [userId, token] = await freshUserWithId(suite.base, 'tapper');
    const [otherId] = await freshUserWithId(suite.base, 'intruder');
    const session = await connectAs(suite.B, token);
    const cookie = await mySessionsCookie(suite.A, userId);
    const otherCookie = await mySessionsCookie(suite.A, otherId);
    const controller = new AbortController();
    try {
      expect((await openTap(suite.A, session.sessionId)).status).toBe(401);
      expect((await openTap(suite.A, session.sessionId, `${cookie.slice(0, -4)}AAAA`)).status).toBe(401);
      for (const [id, as] of [
        [session.sessionId, otherCookie],
        [randomUUID(), cookie],
        ['not-a-session', cookie],
      ] as const) {
        const refused = await openTap(suite.A, id, as);
        expect(refused.status).toBe(404);
        expect(await refused.json()).toEqual({ error: 'not_found', error_description: 'No such session' });
      }

      const tap = await openTap(suite.A, session.sessionId, cookie, controller.signal);
      expect(tap.status).toBe(200);
      expect(tap.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = sseEventReader(tap);
      expect(await events.until('ready')).toEqual({ sessionId: session.sessionId });

      const marker = `tap-${randomUUID()}`;
      await session.client.callTool({ name: 'echo', arguments: { message: marker } });
      const call = await events.until('tap', (e) => e.kind === 'message' && e.message.method === 'tools/call');
      expect(call).toMatchObject({ direction: 'client-to-server', channel: `mcp:shttp:toserver:{${session.sessionId}}` });
      expect(call.message.params).toEqual({ name: 'echo', arguments: { message: marker } });
      expect(call).not.toHaveProperty('principal');
      const reply = await events.until('tap', (e) => e.direction === 'server-to-client' && e.message?.id === call.message.id);
      expect(reply.channel.startsWith(`mcp:shttp:toclient:{${session.sessionId}}:`)).toBe(true);
      expect(reply.message.result.content).toEqual([{ type: 'text', text: `Echo: ${marker}` }]);

      // The session ends (DELETE): the tap says so and ends.
      await session.transport.terminateSession();
      const end = await events.until('end');
      expect(end.reason).toMatch(/session ended/);
      expect(await events.next()).toBeUndefined();
    } finally {
      controller.abort();
      await session.client.close().catch(() => undefined);
    }
  });
});

describe('taps are open streams: bounded per user, and a second user stays served', () => {
  let deployment: Awaited<ReturnType<typeof startAuthDeployment>>;
  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, { MAX_STREAMS_PER_USER: '2' });
  });
  afterAll(() => deployment?.stop());

  test('a third tap of one user is refused with 429 naming MAX_STREAMS_PER_USER; another user taps', async () => {
    const url = deployment.urls[0]!;
    const [userId, token] = await freshUserWithId(deployment.baseUri, 'greedy');
    const [otherId, otherToken] = await freshUserWithId(deployment.baseUri, 'patient');
    const mine = await connectAs(url, token);
    const theirs = await connectAs(url, otherToken);
    const cookie = await mySessionsCookie(url, userId);
    const otherCookie = await mySessionsCookie(url, otherId);
    const controller = new AbortController();
    try {
      // The SDK client holds one GET stream already: one more tap reaches the bound of 2.
      await waitUntil(() => deployment.servers[0]!.runtime.streams.held() >= 2, 5000, 'GET streams open');
      const first = await openTap(url, mine.sessionId, cookie, controller.signal);
      expect(first.status).toBe(200);
      const refused = await openTap(url, mine.sessionId, cookie);
      expect(refused.status).toBe(429);
      expect(JSON.stringify(await refused.json())).toContain('MAX_STREAMS_PER_USER');
      const served = await openTap(url, theirs.sessionId, otherCookie, controller.signal);
      expect(served.status).toBe(200);
      expect(await sseEventReader(served).until('ready')).toEqual({ sessionId: theirs.sessionId });
    } finally {
      controller.abort();
      await mine.client.close();
      await theirs.client.close();
    }
  });
});

describe.each(authBackendCases({ SESSION_EVICT_AFTER_S: '1' }))('a tap changes nothing for the session it watches (%s)', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  test('an evicted session is rebuilt at its next call while tapped, the tap follows it there, and DELETE ends both at once', async () => {
    const [userId, token] = await freshUserWithId(suite.base, 'evicted');
    const sessionId = await openSession(suite.B, token);
    const cookie = await mySessionsCookie(suite.A, userId);
    const controller = new AbortController();
    try {
      const tap = await openTap(suite.A, sessionId, cookie, controller.signal);
      const events = sseEventReader(tap);
      await events.until('ready');
      const owner = suite.deployment.servers.at(-1)!.runtime;
      await waitUntil(() => !owner.host.has(sessionId), 5000, 'the idle session evicted');

      // Nobody runs the session now; the tap must not pass for its runner: the call is taken over and answered.
      const call = async (id: number, via: string) => {
        const reply = await post(via, sessionId, toolCall(id, 'echo', { message: `call ${id}` }), undefined, token);
        return sseMessages(await reply.text()).at(-1)?.result?.content?.[0]?.text;
      };
      expect(await call(1, suite.A)).toBe('Echo: call 1');
      // The owner that rebuilt it hears the tap's next renewal (every 5 s) and copies from then on.
      let id = 2;
      const seen = events.until('tap', (e) => e.kind === 'message' && e.message.method === 'tools/call', 12_000);
      const calling = (async () => {
        let done = false;
        void seen.then(() => (done = true), () => (done = true));
        while (!done) {
          expect(await call(id, suite.A)).toBe(`Echo: call ${id}`);
          id += 1;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();
      expect((await seen).message.params.arguments.message).toMatch(/^call \d+$/);
      await calling;

      const started = Date.now();
      const deleted = await fetch(`${suite.B}/mcp`, { method: 'DELETE', headers: mcpHeaders(token, sessionId) });
      expect(deleted.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await events.until('end')).reason).toMatch(/session ended/);
    } finally {
      controller.abort();
    }
  });
});

describe('the "my sessions" data is rate-limited per user like the MCP endpoints; another user stays served', () => {
  let deployment: Awaited<ReturnType<typeof startAuthDeployment>>;
  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, { RATE_LIMIT_MCP_PER_USER_PER_MINUTE: '3' });
  });
  afterAll(() => deployment?.stop());

  test("a user's fourth list within the minute is refused with 429 naming the setting; another user's is served", async () => {
    const url = deployment.urls[0]!;
    const cookie = await mySessionsCookie(url, `busy-${randomUUID()}`);
    const other = await mySessionsCookie(url, `calm-${randomUUID()}`);
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/my/sessions`, { headers: { cookie } })).status).toBe(200);
    const refused = await fetch(`${url}/my/sessions`, { headers: { cookie } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.stringify(await refused.json())).toContain('RATE_LIMIT_MCP_PER_USER_PER_MINUTE');
    expect((await fetch(`${url}/my/sessions`, { headers: { cookie: other } })).status).toBe(200);
  });
});
