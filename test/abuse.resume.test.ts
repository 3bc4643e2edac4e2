/**
 * Resumes that name nothing: a GET /mcp with a made-up Last-Event-ID
 * reads a bounded part of the event log, found by position (never the whole log),
 * and is answered at once: the owner, asked whether that request is still being
 * served, says no, and the stream ends with an error for the request instead of
 * waiting for the deadline. Measured on a private Redis: bytes Redis sends for a
 * flood of bogus resumes on a session whose log is full.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { expectServed } from './support/abuse.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { keys } from '../src/protocol/channels.js';

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let deployment: AuthDeployment;
let alice: string;
let bob: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
  deployment = await startAuthDeployment(redis.url, 2, { REQUEST_TIMEOUT_S: '60' });
  alice = (await signIn(deployment.baseUri, `alice-${randomUUID()}`)).tokens.access_token;
  bob = (await signIn(deployment.baseUri, `bob-${randomUUID()}`)).tokens.access_token;
});

afterAll(async () => {
  await deployment?.stop();
  await admin?.close();
  await redis?.stop();
});

async function bytesSentByRedis(): Promise<number> {
  return Number(/total_net_output_bytes:(\d+)/.exec(await admin.info('stats'))![1]);
}

test('100 resumes with made-up Last-Event-IDs on a full log: each answered at once, reading kilobytes, not the log', async () => {
  const [A, B] = deployment.urls as [string, string];
  const sessionId = await openSession(A, alice);
  // Fill the log to its bounds: thousands of progress messages.
  const batch = Array.from({ length: 50 }, (_, i) => toolCall(i + 1, 'longRunningOperation', { duration: 1, steps: 100 }, `p${i}`));
  await (await post(B, sessionId, batch, undefined, alice)).text();
  const logKey = keys.sessionEvents(sessionId);
  expect(await admin.lLen(logKey)).toBeGreaterThan(500);
  const logBytes = Number(await admin.memoryUsage(logKey));
  expect(logBytes).toBeGreaterThan(100_000);

  const before = await bytesSentByRedis();
  const started = Date.now();
  const resumes = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const lastEventId = `${Date.now() - 1000}-${i}~${'0'.repeat(12)}.${i}~n:${424_000 + i}`;
      const response = await fetch(`${i % 2 ? A : B}/mcp`, {
        headers: { ...mcpHeaders(alice, sessionId), accept: 'text/event-stream', 'last-event-id': lastEventId },
      });
      return { status: response.status, messages: sseMessages(await response.text()), id: 424_000 + i, took: Date.now() - started };
    }),
  );
  const sent = (await bytesSentByRedis()) - before;
  for (const resume of resumes) {
    expect(resume.status).toBe(200);
    expect(resume.messages).toEqual([
      { jsonrpc: '2.0', id: resume.id, error: { code: -32000, message: expect.stringContaining('No stream to resume') } },
    ]);
    expect(resume.took).toBeLessThan(10_000);
  }
  // Reading the whole log each time would have sent ~100 × its size.
  expect(sent).toBeLessThan(logBytes * 5);
  await expectServed(A, bob);
});

test('a resume of a stream whose request is still running is not answered early: it gets the reply when it comes', async () => {
  const [A, B] = deployment.urls as [string, string];
  const sessionId = await openSession(A, alice);
  const controller = new AbortController();
  const call = await post(B, sessionId, toolCall(7, 'longRunningOperation', { duration: 2, steps: 4 }, 'tok'), controller.signal, alice);
  const reader = call.body!.getReader();
  let text = '';
  while (!/id: [^\n]+\n[^]*progress/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  const lastEventId = [...text.matchAll(/id: ([^\n]+)\n/g)].at(-1)![1]!;
  controller.abort();
  const resumed = await fetch(`${A}/mcp`, { headers: { ...mcpHeaders(alice, sessionId), accept: 'text/event-stream', 'last-event-id': lastEventId } });
  const messages = sseMessages(await resumed.text());
  expect(messages.at(-1)).toMatchObject({ id: 7, result: { content: [{ type: 'text', text: expect.stringContaining('Long running operation completed') }] } });
});
