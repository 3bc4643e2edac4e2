/**
 * The Redis contract operators rely on: channel and key names, TTLs on every key,
 * envelopes without credentials, a fixed connection budget and a small, constant
 * number of commands per tool call.
 */
import { createClient } from 'redis';
import { channels, keys } from '../src/protocol/channels.js';
import type { RunningServer } from '../src/server.js';
import { startInstance } from './support/instances.js';
import { openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server.js';

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let owner: RunningServer;
let edge: RunningServer;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
  owner = await startInstance(redis.url, { SESSION_IDLE_TIMEOUT_S: '600' });
  edge = await startInstance(redis.url, { SESSION_IDLE_TIMEOUT_S: '600' });
});

afterAll(async () => {
  await Promise.all([owner?.stop(), edge?.stop()]);
  await admin?.close();
  await redis?.stop();
});

async function echo(url: string, sessionId: string, id: number, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, ...headers },
    body: JSON.stringify(toolCall(id, 'echo', { message: `call ${id}` })),
  });
  return sseMessages(await response.text())[0]?.result.content[0].text;
}

async function totalCommandCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

test('a tool call crossing instances uses the documented channels', async () => {
  const sessionId = await openSession(owner.url);
  const watcher = admin.duplicate();
  await watcher.connect();
  const seen: string[] = [];
  // A session's channels are sharded: a watcher names them (SSUBSCRIBE); a pattern would hear nothing.
  const named = [channels.toServer(sessionId), channels.toClient(sessionId, 'n:1'), channels.control(sessionId)];
  await watcher.sSubscribe(named, (_message, channel) => void seen.push(channel));
  try {
    expect(await echo(edge.url, sessionId, 1)).toBe('Echo: call 1');
    await fetch(`${edge.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
    await waitUntil(() => seen.includes(channels.control(sessionId)), 2000, 'control message seen');
  } finally {
    await watcher.close();
  }
  expect(seen).toEqual(
    expect.arrayContaining([
      `mcp:shttp:toserver:{${sessionId}}`,
      `mcp:shttp:toclient:{${sessionId}}:n:1`,
      `mcp:control:{${sessionId}}`,
    ]),
  );
});

test('the owner key holds the user id with an idle TTL; every key has a TTL', async () => {
  const sessionId = await openSession(owner.url);
  expect(await admin.get(keys.sessionOwner(sessionId))).toBe('anonymous');
  const ttl = await admin.pTTL(keys.sessionOwner(sessionId));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(600_000);
  for await (const batch of admin.scanIterator({ MATCH: '*', COUNT: 100 })) {
    for (const key of batch) expect(await admin.pTTL(key)).toBeGreaterThan(0);
  }
});

test('envelopes never carry the Authorization header or cookies', async () => {
  const sessionId = await openSession(owner.url);
  const watcher = admin.duplicate();
  await watcher.connect();
  const payloads: string[] = [];
  await watcher.sSubscribe([channels.toServer(sessionId), channels.toClient(sessionId, 'n:2')], (message) => void payloads.push(message));
  try {
    const secret = 'Bearer super-secret-token-value';
    expect(await echo(edge.url, sessionId, 2, { authorization: secret, cookie: 'sid=cookie-secret' })).toBe('Echo: call 2');
    await waitUntil(() => payloads.length >= 2, 2000, 'envelopes seen');
  } finally {
    await watcher.close();
  }
  for (const payload of payloads) {
    expect(payload).not.toContain('super-secret-token-value');
    expect(payload).not.toContain('cookie-secret');
  }
});

test('tool calls open no Redis connections and cost at most 5 commands each', async () => {
  const sessionId = await openSession(owner.url);
  await echo(edge.url, sessionId, 1); // warm: the edge's stream subscription for this session
  const clientsBefore = (await admin.clientList()).length;
  const connectionsBefore = Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))![1]);
  const commandsBefore = await totalCommandCalls();
  const calls = 40;
  for (let i = 0; i < calls; i++) expect(await echo(edge.url, sessionId, 10 + i)).toBe(`Echo: call ${10 + i}`);
  const commandsAfter = await totalCommandCalls();
  const connectionsAfter = Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))![1]);
  // Our own INFO and CLIENT LIST calls are in the count: two before the calls, one after. Per call:
  // SSUBSCRIBE and SUNSUBSCRIBE of the call's stream, SPUBLISH of the request, RPUSHX of the reply
  // to the event log, SPUBLISH of the reply.
  const perCall = (commandsAfter - commandsBefore - 3) / calls;
  expect(perCall).toBeLessThanOrEqual(5);
  expect(connectionsAfter).toBe(connectionsBefore);
  expect((await admin.clientList()).length).toBe(clientsBefore);
});

test('each instance holds exactly two Redis connections', async () => {
  const names = (await admin.clientList()).length;
  // owner + edge, two each, plus this admin connection.
  expect(names).toBe(5);
});
