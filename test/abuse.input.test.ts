/**
 * What a client sends that the server stores or echoes is bounded:
 * initialize's params (stored with the session: MAX_INIT_PARAMS_BYTES), request
 * ids and progress tokens (in every reply and the event log: MAX_ID_LENGTH), and
 * the event log itself, capped as it grows (EVENT_LOG_MAX_EVENTS and _BYTES).
 * Each refusal names its setting; nothing is created for a refused request; a
 * second user is served.
 */
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { keys } from '../src/protocol/channels.js';
import { eventSize } from '../src/store/event-store.js';
import { authBackendCases, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { expectServed } from './support/abuse.js';
import { parseSse } from './support/http-raw.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';

const LOG = { events: 1000, bytes: 64 * 1024 };

jest.setTimeout(120_000);

function initialize(experimental: Record<string, unknown>) {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: { experimental }, clientInfo: { name: 'abuse', version: '1' } },
  };
}

type ErrorBody = { error: { code: number; message: string } };

// A generous deadline: 100 calls of 100 steps each make 20 000 messages in one stream, which a
// loaded machine may take a while to carry (the suite is about what is kept, not how fast).
describe.each(authBackendCases({ EVENT_LOG_MAX_EVENTS: String(LOG.events), EVENT_LOG_MAX_BYTES: String(LOG.bytes), REQUEST_TIMEOUT_S: '90' }))(
  'stored and echoed input on %s',
  (_name, start) => {
    let deployment: AuthDeployment;
    let A: string;
    let B: string;
    let alice: string;
    let bob: string;

    beforeAll(async () => {
      deployment = await start();
      A = deployment.urls[0]!;
      B = deployment.urls.at(-1)!;
      alice = (await signIn(deployment.baseUri, `alice-${randomUUID()}`)).tokens.access_token;
      bob = (await signIn(deployment.baseUri, `bob-${randomUUID()}`)).tokens.access_token;
    });

    afterAll(async () => {
      await deployment?.stop();
    });

    const sessionsHeld = () => deployment.servers.reduce((sum, s) => sum + s.runtime.host.size, 0);

    test('initialize params past MAX_INIT_PARAMS_BYTES: 400 naming it, and no session; params within it are all a session stores', async () => {
      const before = sessionsHeld();
      const huge = await fetch(`${A}/mcp`, { method: 'POST', headers: mcpHeaders(alice), body: JSON.stringify(initialize({ blob: { data: 'x'.repeat(100_000) } })) });
      expect(huge.status).toBe(400);
      const body = (await huge.json()) as ErrorBody;
      expect(body.error.code).toBe(-32602);
      expect(body.error.message).toContain('MAX_INIT_PARAMS_BYTES');
      expect(huge.headers.get('mcp-session-id')).toBeNull();
      expect(sessionsHeld()).toBe(before);

      const fits = await fetch(`${A}/mcp`, { method: 'POST', headers: mcpHeaders(alice), body: JSON.stringify(initialize({ blob: { data: 'x'.repeat(7000) } })) });
      expect(fits.status).toBe(200);
      await fits.text();
      const sessionId = fits.headers.get('mcp-session-id')!;
      const state = await deployment.servers[0]!.runtime.backend.kv.get(keys.sessionState(sessionId));
      expect(state).toContain('x'.repeat(7000));
      expect(Buffer.byteLength(state!)).toBeLessThan(8192 + 1024);
      await expectServed(B, bob);
    });

    test('request ids and progress tokens past MAX_ID_LENGTH: 400 naming it, on /mcp and legacy /message; nothing reaches the session', async () => {
      const sessionId = await openSession(A, alice);
      const longId = await post(B, sessionId, toolCall('i'.repeat(5000), 'echo', { message: 'x' }), undefined, alice);
      expect(longId.status).toBe(400);
      expect(((await longId.json()) as ErrorBody).error.message).toContain('MAX_ID_LENGTH');
      const longToken = await post(B, sessionId, toolCall(2, 'echo', { message: 'x' }, 't'.repeat(5000)), undefined, alice);
      expect(longToken.status).toBe(400);
      expect(((await longToken.json()) as ErrorBody).error.message).toContain('MAX_ID_LENGTH');
      const legacy = await fetch(`${B}/message?sessionId=${sessionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
        body: JSON.stringify(toolCall('i'.repeat(5000), 'echo', { message: 'x' })),
      });
      expect(legacy.status).toBe(400);
      expect(await deployment.servers[0]!.runtime.backend.events.lastPosition(sessionId)).toBe('0-0');
      // Within the bound, the same call is served.
      const fine = sseMessages(await (await post(B, sessionId, toolCall('i'.repeat(200), 'echo', { message: 'ok' }), undefined, alice)).text());
      expect(fine[0]?.result.content[0].text).toBe('Echo: ok');
      await expectServed(A, bob);
    });

    test('the event log is capped as it grows: over 10,000 messages in one stream leave at most its bounds, the newest ones', async () => {
      const sessionId = await openSession(A, alice);
      const batch = Array.from({ length: 100 }, (_, i) => toolCall(i + 1, 'longRunningOperation', { duration: 1, steps: 100 }, `p${i}`));
      const text = await (await post(B, sessionId, batch, undefined, alice)).text();
      const events = parseSse(text).filter((e) => e.data !== '');
      // Each step sends progress (and a log message); each call ends with its answer.
      expect(events.length).toBeGreaterThanOrEqual(100 * 100 + 100);
      const delivery = events[0]!.id!.split('~')[1]!;
      const logged = await deployment.servers[0]!.runtime.backend.events.after(sessionId, '0-0', delivery, 1_000_000);
      expect(logged.length).toBeGreaterThan(10);
      expect(logged.length).toBeLessThanOrEqual(LOG.events);
      expect(logged.reduce((sum, e) => sum + eventSize(e), 0)).toBeLessThanOrEqual(LOG.bytes);
      // The newest: the log ends with the last message the stream got.
      expect(logged.at(-1)!.position).toBe(events.at(-1)!.id!.split('~')[0]);
      await expectServed(B, bob);
    });
  },
);
