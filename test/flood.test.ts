/**
 * Floods (`npm run test:abuse`, also run by CI): the attacks a public demo meets,
 * at full strength for a few seconds each, against two instances running as their
 * own processes on one private Redis, with the default budgets. The instances get
 * a small V8 heap (HEAP_MB): anything an attack could make them hold without bound
 * would kill them. Each test measures what the attack cost (resident memory, open
 * descriptors, Redis keys) and the calls of another user made meanwhile (all
 * served, p99 latency). Sized for a 2-core machine.
 */
import { jest } from '@jest/globals';
import { createClient } from 'redis';
import { signIn } from './support/auth-flow.js';
import { HIGH_RATE_LIMITS } from './support/auth-instances.js';
import { latencies, processOpenFds, processRssMB, requestFrom, unreadResponse } from './support/abuse.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './support/redis-server.js';

jest.setTimeout(120_000);

/** The instances' V8 heap limit: a few times what they need, far below what an unbounded attack takes. */
const HEAP_MB = 192;

let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let instances: ChildInstance[];
let base: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = createClient({ url: redis.url });
  await admin.connect();
  const ports = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${ports[0]}`;
  // The OAuth limits are raised for signing test users in; every budget of /mcp is the default.
  const { RATE_LIMIT_MCP_PER_MINUTE: _mcp, ...oauthLimits } = HIGH_RATE_LIMITS;
  instances = await Promise.all(
    ports.map((port) =>
      startChildInstance(redis.url, {
        AUTH_MODE: 'internal',
        BASE_URI: base,
        PORT: String(port),
        BODY_TIMEOUT_S: '5',
        NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
        ...oauthLimits,
      }),
    ),
  );
});

afterEach(() => {
  // Alive after each attack (an exhausted instance dies of it).
  for (const instance of instances) expect({ exitCode: instance.process.exitCode, output: instance.process.exitCode === null ? '' : instance.output() }).toEqual({ exitCode: null, output: '' });
});

afterAll(async () => {
  await Promise.allSettled(instances?.map((i) => i.kill('SIGKILL')) ?? []);
  await admin?.close();
  await redis?.stop();
});

/** Another user's echo through alternating instances every `everyMs`, until stopped. */
function bystander(token: string, sessionId: string, everyMs = 100) {
  const seen = latencies();
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const started = Date.now();
      try {
        const response = await post(instances[i % 2]!.url, sessionId, toolCall(i, 'echo', { message: `b${i}` }), undefined, token);
        const [answer] = sseMessages(await response.text());
        if (answer?.result?.content?.[0]?.text === `Echo: b${i}`) seen.record(Date.now() - started);
        else seen.fail();
      } catch {
        seen.fail();
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Samples the instances' resident memory until stopped; returns the largest growth over the baseline (MB). */
function memoryWatch() {
  const baseline = instances.map((i) => processRssMB(i.process.pid!));
  let growth = 0;
  const timer = setInterval(() => {
    instances.forEach((instance, n) => (growth = Math.max(growth, processRssMB(instance.process.pid!) - baseline[n]!)));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return growth;
    },
  };
}

test('unread legacy streams under floods of POST /message batches, for 15 s: memory stays flat; another user is served', async () => {
  const attacker = (await signIn(base, 'mallory')).tokens.access_token;
  const bob = (await signIn(base, 'bob')).tokens.access_token;
  const watch = memoryWatch();
  const bystanding = bystander(bob, await openSession(instances[0]!.url, bob));
  const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/list' })));
  const until = Date.now() + 15_000;
  let posted = 0;
  let streamsOpened = 0;
  // Four workers, each from its own address: open a stream it never reads, flood it through the
  // other instance until its session ends (the stream is cut), then start again.
  await Promise.all(
    [2, 3, 4, 5].map(async (n) => {
      const from = `127.0.0.${n}`;
      while (Date.now() < until) {
        const stream = unreadResponse(instances[n % 2]!.url, { method: 'GET', path: '/sse', headers: { accept: 'text/event-stream', authorization: `Bearer ${attacker}` }, localAddress: from }, /data: \/message[^\n]*\n/);
        const opened = await stream.ready.catch(() => undefined);
        const endpoint = opened && /data: (\/message\?sessionId=[^\n]+)\n/.exec(opened.text)?.[1];
        if (!endpoint) {
          stream.close();
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        streamsOpened += 1;
        for (let status = 202; status === 202 && Date.now() < until; posted++) {
          ({ status } = await requestFrom(instances[(n + 1) % 2]!.url, {
            method: 'POST',
            path: endpoint,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${attacker}` },
            body: batch,
            localAddress: from,
          }));
        }
        stream.close();
      }
    }),
  );
  const seen = await bystanding.stop();
  const growth = watch.stop();
  expect(posted).toBeGreaterThan(50);
  expect(streamsOpened).toBeGreaterThan(4);
  expect(growth).toBeLessThan(150);
  expect(seen.failures).toBe(0);
  expect(seen.count).toBeGreaterThan(30);
  expect(seen.percentile(99)).toBeLessThan(1500);
});

test('1,500 connections stalling their bodies from 10 addresses: each closed within BODY_TIMEOUT_S; descriptors back to their baseline; another user is served', async () => {
  const bob = (await signIn(base, 'bob2')).tokens.access_token;
  const attacker = (await signIn(base, 'slowloris')).tokens.access_token;
  const target = instances[0]!;
  const sessionId = await openSession(target.url, attacker);
  const fdsBefore = processOpenFds(target.process.pid!);
  const bystanding = bystander(bob, await openSession(target.url, bob));
  const { hostname, port } = new URL(target.url);
  const net = await import('node:net');
  const head = Object.entries({ ...mcpHeaders(attacker, sessionId), host: `${hostname}:${port}`, 'content-length': '100000' })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  const started = Date.now();
  const closedAfter = await Promise.all(
    Array.from({ length: 1500 }, (_, i) =>
      new Promise<number>((resolve) => {
        const socket = net.connect({ host: hostname, port: Number(port), localAddress: `127.0.1.${1 + (i % 10)}` });
        socket.on('error', () => undefined);
        socket.once('connect', () => socket.write(`POST /mcp HTTP/1.1\r\n${head}\r\n\r\n{"jsonrpc":`));
        socket.once('close', () => resolve(Date.now() - started));
        socket.resume();
      }),
    ),
  );
  const seen = await bystanding.stop();
  expect(Math.max(...closedAfter)).toBeLessThan(5000 + 6000);
  await waitUntil(() => processOpenFds(target.process.pid!) <= fdsBefore + 20, 5000, 'descriptors back to their baseline');
  expect(seen.failures).toBe(0);
  expect(seen.percentile(99)).toBeLessThan(1500);
});

test('one token from five addresses opening sessions as fast as it can for 5 s: at most MAX_SESSIONS_PER_USER live, on both instances together', async () => {
  const attacker = (await signIn(base, 'hoarder')).tokens.access_token;
  const bob = (await signIn(base, 'bob3')).tokens.access_token;
  const bystanding = bystander(bob, await openSession(instances[1]!.url, bob));
  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'hoarder', version: '1' } },
  });
  const until = Date.now() + 5000;
  const statuses: number[] = [];
  await Promise.all(
    [6, 7, 8, 9, 10].map(async (n) => {
      for (let i = 0; Date.now() < until; i++) {
        const { status } = await requestFrom(instances[i % 2]!.url, {
          method: 'POST',
          path: '/mcp',
          headers: { ...mcpHeaders(attacker), 'content-length': String(Buffer.byteLength(initialize)) },
          body: initialize,
          localAddress: `127.0.0.${n}`,
        });
        statuses.push(status);
      }
    }),
  );
  const seen = await bystanding.stop();
  const created = statuses.filter((s) => s === 200).length;
  expect(created).toBeLessThanOrEqual(100);
  expect(created).toBeGreaterThan(50);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(100);
  expect(await admin.zCard('mcp:user:hoarder:sessions')).toBeLessThanOrEqual(100);
  expect(seen.failures).toBe(0);
  expect(seen.percentile(99)).toBeLessThan(1500);
});
