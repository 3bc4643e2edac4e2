/**
 * Abuse of the /mcp, /sse and /message rate limits: requests alternated across
 * instances get no more than the limit in total, from the first request; one
 * user's token used from several addresses is limited per user; other clients
 * stay served. Then the reservation store itself against the real Redis:
 * concurrent stores never pass the limit together, and a Redis that refuses or
 * is gone never fails a request.
 *
 * Clients use addresses of their own in 127.0.0.0/8 (node:http's localAddress),
 * so that their counters in the run's shared Redis are this suite's alone.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createClient } from 'redis';
import { ReservationStore, type ReservationRedis } from '../src/auth/rate-limit/reservation-store.js';
import type { Logger } from '../src/observability/logger.js';
import type { RunningServer } from '../src/server.js';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { expectJsonBody } from './support/http-raw.js';
import { startInstance } from './support/instances.js';
import { waitUntil } from './support/raw-mcp.js';
import { startPrivateRedis } from './support/redis-server.js';

const REDIS_URL = process.env.TEST_REDIS_URL!;
const WINDOW_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const usedAddresses = new Set<string>();
/** A loopback address no other client of the run uses. */
function freshAddress(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  const address = `127.${byte()}.${byte()}.${byte()}`;
  if (usedAddresses.has(address)) return freshAddress();
  usedAddresses.add(address);
  return address;
}

/** The limits count in fixed one-minute windows: start a test well before the minute turns. */
async function withinOneWindow(needMs = 5000): Promise<number> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < needMs) await sleep(left + 20);
  const now = Date.now();
  return now - (now % WINDOW_MS);
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'abuse', version: '1' } },
});

/** POST initialize to /mcp from the given source address. */
function initialize(baseUrl: string, from: string, token?: string): Promise<Answer> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/mcp',
        localAddress: from,
        agent: false,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': String(Buffer.byteLength(INITIALIZE)),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
        );
        response.on('error', reject);
      },
    );
    request.setTimeout(5000, () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
    request.end(INITIALIZE);
  });
}

/** A 429 naming its setting: Retry-After within the window, a JSON-RPC error, RateLimit headers at 0. */
function expectRefusal(answer: Answer, setting: string, scope: 'address' | 'user', max: number): void {
  expect(answer.status).toBe(429);
  const retryAfter = Number(answer.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(expectJsonBody(answer.headers['content-type'], answer.body)).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: -32000, message: expect.stringContaining(setting), data: { limit: setting, max, scope } },
  });
  expect(answer.headers['ratelimit']).toMatch(new RegExp(`^limit=${max}, remaining=0, reset=\\d+$`));
}

/** Statuses only 200 then only 429: once an instance refuses a key, it refuses until the window ends. */
function expectAdmittedThenRefused(statuses: number[]): void {
  const firstRefusal = statuses.indexOf(429);
  const expected = statuses.map((_, i) => (firstRefusal === -1 || i < firstRefusal ? 200 : 429));
  expect(statuses).toEqual(expected);
}

describe('per-address limit, two instances sharing Redis', () => {
  const LIMIT = 20;
  let servers: RunningServer[] = [];

  beforeAll(async () => {
    servers = [
      await startInstance(REDIS_URL, { RATE_LIMIT_MCP_PER_MINUTE: String(LIMIT) }),
      await startInstance(REDIS_URL, { RATE_LIMIT_MCP_PER_MINUTE: String(LIMIT) }),
    ];
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('alternating between the instances from one address admits exactly the limit in total, from the first request; another address stays served', async () => {
    const window = await withinOneWindow();
    const redis = servers[0]!.runtime.backend.redis!;
    const attacker = freshAddress();
    const bystander = freshAddress();
    const counter = `mcp:ratelimit:mcp:${attacker}:${window}`;

    const first = await initialize(servers[0]!.url, attacker);
    expect(first.status).toBe(200);
    // The first request waited for its reservation: the shared counter exists already.
    expect(Number(await redis.get(counter))).toBeGreaterThanOrEqual(1);
    expect(first.headers['ratelimit']).toMatch(new RegExp(`^limit=${LIMIT}, remaining=(1[0-9]), reset=\\d+$`));

    const answers: Answer[][] = [[first], []];
    const bystanderStatuses: number[] = [];
    for (let i = 1; i < 2 * LIMIT; i++) {
      answers[i % 2]!.push(await initialize(servers[i % 2]!.url, attacker));
      if (i % 8 === 0) bystanderStatuses.push((await initialize(servers[(i / 8) % 2]!.url, bystander)).status);
    }
    const all = answers.flat();
    expect(all.filter((a) => a.status === 200)).toHaveLength(LIMIT);
    expect(all.filter((a) => a.status === 429)).toHaveLength(LIMIT);
    for (const [instance, list] of answers.entries()) {
      expect({ instance, refusedSome: list.some((a) => a.status === 429) }).toEqual({ instance, refusedSome: true });
      expectAdmittedThenRefused(list.map((a) => a.status));
      for (const answer of list.filter((a) => a.status === 429)) expectRefusal(answer, 'RATE_LIMIT_MCP_PER_MINUTE', 'address', LIMIT);
    }
    expect(Number(await redis.get(counter))).toBe(LIMIT);
    // The other address was served throughout, and still is on both instances.
    for (const server of servers) bystanderStatuses.push((await initialize(server.url, bystander)).status);
    expect(bystanderStatuses).toEqual(bystanderStatuses.map(() => 200));
  });
});

describe('per-user limit, two instances sharing Redis', () => {
  const USER_LIMIT = 12;
  let deployment: AuthDeployment;

  beforeAll(async () => {
    deployment = await startAuthDeployment(REDIS_URL, 2, { RATE_LIMIT_MCP_PER_USER_PER_MINUTE: String(USER_LIMIT) });
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('one token from four addresses on both instances is limited in total; another user is still served, promptly', async () => {
    const abuser = await signIn(deployment.baseUri, `abuser-${randomUUID()}`);
    const other = await signIn(deployment.baseUri, `other-${randomUUID()}`);
    const window = await withinOneWindow();
    const addresses = Array.from({ length: 4 }, freshAddress);
    const answers: Answer[] = [];
    for (let i = 0; i < 2 * USER_LIMIT; i++) {
      // Each address reaches both instances.
      answers.push(await initialize(deployment.urls[i % 2]!, addresses[Math.floor(i / 2) % 4]!, abuser.tokens.access_token));
    }
    expect(answers.filter((a) => a.status === 200)).toHaveLength(USER_LIMIT);
    for (const instance of [0, 1]) expectAdmittedThenRefused(answers.filter((_, i) => i % 2 === instance).map((a) => a.status));
    for (const answer of answers.filter((a) => a.status !== 200)) expectRefusal(answer, 'RATE_LIMIT_MCP_PER_USER_PER_MINUTE', 'user', USER_LIMIT);
    const redis = deployment.servers[0]!.runtime.backend.redis!;
    expect(Number(await redis.get(`mcp:ratelimit:mcp-user:${abuser.userId}:${window}`))).toBe(USER_LIMIT);

    for (const url of deployment.urls) {
      const served = await initialize(url, addresses[0]!, other.tokens.access_token);
      expect(served.status).toBe(200);
      expect(served.ms).toBeLessThan(1000);
      expect(served.body).toContain('"protocolVersion"');
    }
  });
});

describe('embedded (memory store)', () => {
  const ADDRESS_LIMIT = 4;
  const USER_LIMIT = 6;
  let deployment: AuthDeployment;

  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, {
      RATE_LIMIT_MCP_PER_MINUTE: String(ADDRESS_LIMIT),
      RATE_LIMIT_MCP_PER_USER_PER_MINUTE: String(USER_LIMIT),
    });
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('enforces the per-user limit across addresses and the per-address limit for one address', async () => {
    const [url] = deployment.urls as [string];
    const spread = await signIn(deployment.baseUri, `spread-${randomUUID()}`);
    const single = await signIn(deployment.baseUri, `single-${randomUUID()}`);

    // Three addresses, three requests each: under the address limit, over the user's.
    const addresses = Array.from({ length: 3 }, freshAddress);
    const spreadAnswers: Answer[] = [];
    for (let i = 0; i < 9; i++) spreadAnswers.push(await initialize(url, addresses[i % 3]!, spread.tokens.access_token));
    expectAdmittedThenRefused(spreadAnswers.map((a) => a.status));
    expect(spreadAnswers.filter((a) => a.status === 200)).toHaveLength(USER_LIMIT);
    for (const answer of spreadAnswers.slice(USER_LIMIT)) expectRefusal(answer, 'RATE_LIMIT_MCP_PER_USER_PER_MINUTE', 'user', USER_LIMIT);

    // One address: the address limit comes first.
    const address = freshAddress();
    const singleAnswers: Answer[] = [];
    for (let i = 0; i < ADDRESS_LIMIT + 2; i++) singleAnswers.push(await initialize(url, address, single.tokens.access_token));
    expectAdmittedThenRefused(singleAnswers.map((a) => a.status));
    expect(singleAnswers.filter((a) => a.status === 200)).toHaveLength(ADDRESS_LIMIT);
    for (const answer of singleAnswers.slice(ADDRESS_LIMIT)) expectRefusal(answer, 'RATE_LIMIT_MCP_PER_MINUTE', 'address', ADDRESS_LIMIT);
  });
});

describe('ReservationStore against Redis', () => {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;
  let redis: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = createClient({ url: REDIS_URL, disableOfflineQueue: true });
    await redis.connect();
  });

  afterAll(async () => {
    await redis?.close();
  });

  function store(limit: number, options: { client?: ReservationRedis; logger?: Logger; maxEntries?: number; prefix?: string } = {}) {
    const created = new ReservationStore(options.client ?? redis, options.prefix ?? `test:abuse:${randomUUID()}:`, options.logger ?? quiet, options.maxEntries);
    created.init({ windowMs: WINDOW_MS, limit } as never);
    return created;
  }

  const admitted = (answers: Array<{ totalHits: number }>, limit: number) => answers.filter((a) => a.totalHits <= limit).length;

  test('two stores incrementing one key concurrently admit exactly the limit together, never more', async () => {
    const window = await withinOneWindow();
    const prefix = `test:abuse:${randomUUID()}:`;
    const stores = [store(50, { prefix }), store(50, { prefix })];
    const answers = await Promise.all(Array.from({ length: 160 }, (_, i) => stores[i % 2]!.increment('client')));
    expect(admitted(answers, 50)).toBe(50);
    expect(Number(await redis.get(`${prefix}client:${window}`))).toBe(50);
  });

  test('requests arriving during a reservation wait for it (one EVAL), and the next ones need none', async () => {
    const window = await withinOneWindow();
    const prefix = `test:abuse:${randomUUID()}:`;
    const limited = store(400, { prefix }); // chunks of at most 10 (a fortieth of the limit)
    const first = limited.increment('client');
    expect(first).toBeInstanceOf(Promise);
    const answers = await Promise.all([first, ...Array.from({ length: 4 }, () => limited.increment('client'))]);
    expect(answers.map((a) => a.totalHits).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    // One reservation of 10 served all five (one each would have taken 50).
    expect(Number(await redis.get(`${prefix}client:${window}`))).toBe(10);
    const sixth = limited.increment('client');
    expect(sixth).not.toBeInstanceOf(Promise);
    expect(sixth).toMatchObject({ totalHits: 6, resetTime: new Date(window + WINDOW_MS) });
    expect(await redis.pTTL(`${prefix}client:${window}`)).toBeGreaterThan(window + WINDOW_MS - Date.now());
  });

  test('near the limit a reservation takes at most a quarter of what is left; held tokens are not lost to the limit', async () => {
    const window = await withinOneWindow();
    const prefix = `test:abuse:${randomUUID()}:`;
    const holder = store(400, { prefix });
    const taker = store(400, { prefix });
    await holder.increment('client'); // reserves 10, spends 1
    let takerAdmitted = 0;
    for (let i = 0; i < 450; i++) if ((await taker.increment('client')).totalHits <= 400) takerAdmitted++;
    expect(takerAdmitted).toBe(390); // all but the holder's chunk
    for (let i = 0; i < 9; i++) expect((await holder.increment('client')).totalHits).toBeLessThanOrEqual(400);
    expect((await holder.increment('client')).totalHits).toBeGreaterThan(400);

    const key = `${prefix}near:${window}`;
    await redis.set(key, '396', { PX: 60_000 });
    await store(400, { prefix }).increment('near');
    expect(Number(await redis.get(key))).toBe(397); // ceil(4 / 4)
  });

  test('tokens held for a key idle for two seconds go back to the shared counter: a client that moved to another instance is not starved', async () => {
    const window = await withinOneWindow();
    const prefix = `test:abuse:${randomUUID()}:`;
    const left = store(400, { prefix });
    const moved = store(400, { prefix });
    await left.increment('client'); // reserves 10, spends 1, then the client never comes back here
    await waitUntil(async () => Number(await redis.get(`${prefix}client:${window}`)) === 1, 4000, 'the unused tokens given back');
    let admittedThere = 0;
    for (let i = 0; i < 450; i++) if ((await moved.increment('client')).totalHits <= 400) admittedThere++;
    expect(admittedThere).toBe(399);
  });

  test('entries are bounded; a forgotten entry reserves anew and never over-admits', async () => {
    await withinOneWindow();
    const bounded = store(100, { maxEntries: 100 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => bounded.increment(`10.0.${Math.floor(i / 256)}.${i % 256}`)));
    expect(bounded.size).toBeLessThanOrEqual(100);
    expect(bounded.get('10.0.0.0')).toBeUndefined();
    expect(bounded.get('10.0.1.243')).toMatchObject({ totalHits: 1 });

    // One entry for two clients: every request forgets the other client's entry.
    const forgetful = store(8, { maxEntries: 1 });
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 40; i++) {
      const client = i % 2 === 0 ? 'a' : 'b';
      if ((await forgetful.increment(client)).totalHits <= 8) counts[client]++;
    }
    expect(forgetful.size).toBe(1);
    expect(counts).toEqual({ a: 8, b: 8 });
  });

  test('Redis refusing (OOM) or gone: requests pass, counted locally against the same limit, logged at debug', async () => {
    const privateRedis = await startPrivateRedis();
    const client = createClient({ url: privateRedis.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 100 } });
    client.on('error', () => undefined);
    const logged: Array<{ message: string; error: string }> = [];
    const logger = { ...quiet, debug: (message: string, meta: { error: string }) => logged.push({ message, error: meta.error }) } as unknown as Logger;
    try {
      await client.connect();
      await client.configSet('maxmemory', '1');
      const oom = store(5, { client, logger });
      const hits: number[] = [];
      for (let i = 0; i < 7; i++) hits.push((await oom.increment('client')).totalHits);
      expect(hits.map((h) => h <= 5)).toEqual([true, true, true, true, true, false, false]);
      expect(logged).toEqual([{ message: expect.stringContaining('counting locally'), error: expect.stringContaining('OOM') }]);

      await privateRedis.stop();
      logged.length = 0;
      const gone = store(3, { client, logger });
      const goneHits: number[] = [];
      for (let i = 0; i < 4; i++) goneHits.push((await gone.increment('client')).totalHits);
      expect(goneHits.map((h) => h <= 3)).toEqual([true, true, true, false]);
      expect(logged).toEqual([{ message: expect.stringContaining('counting locally'), error: expect.any(String) }]);
    } finally {
      client.destroy();
      await privateRedis.stop();
    }
  });
});
