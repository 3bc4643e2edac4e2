/**
 * Sessions that survive: a rolling restart of both instances behind a load
 * balancer that follows /ready (test/support/survival-balancer.ts), under a load
 * of sequential calls in several sessions. Stop A (SIGTERM, wait for exit 0),
 * start A', then the same for B. Every session keeps its id (no client
 * initializes again) and ends up run by the new instances; no request fails but
 * ones in flight on a stopping instance — and, since draining finishes what is in
 * flight (docs/operations.md), ideally none at all.
 *
 * The restart runs once per Redis topology, in beforeAll; each test asserts one
 * property of it. On one Redis node and on a Redis Cluster (3 masters, 3 replicas),
 * each the suite's own; Redis stays up throughout.
 */
import { keys } from '../src/protocol/channels.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { waitUntil } from './support/raw-mcp.js';
import { startBalancer, type Balancer } from './support/survival-balancer.js';
import {
  connectAdmin,
  connectRouted,
  exitOf,
  instanceIdOfChild,
  routingFetch,
  sleep,
  textOf,
  type RedisAdmin,
} from './support/survival-helpers.js';
import { survivalRedisCases, type SurvivalRedis } from './support/survival-redis.js';

const GRACE_MS = 3000;
const SETTINGS = { SHUTDOWN_GRACE_MS: String(GRACE_MS), INSTANCE_LEASE_TTL_MS: '2000', REQUEST_TIMEOUT_S: '10' };
/** Sessions under load: echo calls in odd ones, 0.4 s tool calls in even ones (always something in flight). */
const SESSIONS = 8;
const LONG_TEXT = 'Long running operation completed. Duration: 0.4 seconds, Steps: 2.';

interface CallResult {
  session: number;
  start: number;
  end: number;
  ok: boolean;
  detail: string;
}

interface Stop {
  name: string;
  signalled: number;
  exitedAt: number;
  code: number | null;
}

describe.each(survivalRedisCases())('rolling restart behind a balancer, on %s', (_name, start) => {
  let redis: SurvivalRedis;
  let admin: RedisAdmin;
  let balancer: Balancer | undefined;
  const children: ChildInstance[] = [];
  const replacements: ChildInstance[] = [];
  const results: CallResult[] = [];
  const stops: Stop[] = [];
  /** When each replacement started taking traffic. */
  const phases: number[] = [];
  let clients: Array<Awaited<ReturnType<typeof connectRouted>>> = [];
  let sessionIds: string[] = [];
  /** Set when the load must stop: the roll is over, or setup failed half-way. */
  let stopLoad = false;

  async function startChild(): Promise<ChildInstance> {
    const child = await startChildInstance(undefined, { ...redis.env, ...SETTINGS });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    redis = await start();
    admin = await connectAdmin(redis.target);
    const a = await startChild();
    const b = await startChild();
    const lb = (balancer = await startBalancer([a.url, b.url]));
    await waitUntil(() => lb.isReady(a.url) && lb.isReady(b.url), 5000, 'balancer sees both instances ready');

    clients = await Promise.all(Array.from({ length: SESSIONS }, () => connectRouted(lb.url, routingFetch(() => lb.url))));
    sessionIds = clients.map((c) => c.transport.sessionId!);

    const loops = clients.map(async ({ client }, s) => {
      const until = Date.now() + 50_000;
      for (let i = 0; !stopLoad && Date.now() < until && i < 3000; i++) {
        const start = Date.now();
        let ok = false;
        let detail: string;
        try {
          if (s % 2 === 0) {
            detail = textOf(await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.4, steps: 2 } }, undefined, { timeout: 15_000 }));
            ok = detail === LONG_TEXT;
          } else {
            const message = `s${s} #${i}`;
            detail = textOf(await client.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: 15_000 }));
            ok = detail === `Echo: ${message}`;
          }
        } catch (error) {
          detail = (error as Error).message;
        }
        results.push({ session: s, start, end: Date.now(), ok, detail });
        if (s % 2 === 1) await sleep(10);
      }
    });
    // Every session served before the first stop (on a busy machine the first calls take a while).
    const servedSince = (t: number) => sessionIds.every((_, s) => results.some((r) => r.session === s && r.ok && r.start > t));
    await waitUntil(() => servedSince(0), 10_000, 'every session served before the first stop');

    for (const [name, old] of [['A', a], ['B', b]] as const) {
      const exited = exitOf(old, GRACE_MS + 6000);
      const signalled = Date.now();
      old.process.kill('SIGTERM');
      const exit = await exited.catch(() => ({ code: null, at: Date.now() }));
      stops.push({ name, signalled, exitedAt: exit.at, code: exit.code });
      const replacement = await startChild();
      replacements.push(replacement);
      lb.replace(old.url, replacement.url);
      await waitUntil(() => lb.isReady(replacement.url), 5000, 'balancer sees the replacement ready');
      const phase = Date.now();
      phases.push(phase);
      // Every session served by the instances of this phase before the next stop.
      await waitUntil(() => servedSince(phase), 10_000, 'every session served after the replacement took traffic');
    }
    stopLoad = true;
    await Promise.all(loops);
  }, 50_000);

  afterAll(async () => {
    stopLoad = true;
    await Promise.allSettled(clients.map((c) => c.client.close()));
    await balancer?.close().catch(() => undefined);
    await Promise.allSettled(children.map((child) => child.kill('SIGKILL')));
    await admin?.close().catch(() => undefined);
    await redis?.stop();
  });

  const describeFailure = (r: CallResult) => ({
    session: r.session,
    startMsAfterFirstSigterm: r.start - stops[0]!.signalled,
    durationMs: r.end - r.start,
    detail: r.detail.slice(0, 160),
  });

  test('each instance exits 0 on SIGTERM within the grace period', () => {
    expect(stops.map((s) => ({ name: s.name, code: s.code }))).toEqual([
      { name: 'A', code: 0 },
      { name: 'B', code: 0 },
    ]);
    for (const stop of stops) expect(stop.exitedAt - stop.signalled).toBeLessThan(GRACE_MS + 2000);
  });

  test('sessions keep their ids throughout: no client initializes again, each is served before, between and after the restarts', async () => {
    expect(new Set(sessionIds).size).toBe(SESSIONS);
    clients.forEach((c, s) => {
      expect(c.transport.sessionId).toBe(sessionIds[s]);
      expect(c.sent.filter((r) => r.rpcMethod === 'initialize')).toHaveLength(1);
    });
    for (let s = 0; s < SESSIONS; s++) {
      const mine = results.filter((r) => r.session === s && r.ok);
      expect(mine.some((r) => r.end < stops[0]!.signalled)).toBe(true);
      expect(mine.some((r) => r.start > phases[0]! && r.end < stops[1]!.signalled)).toBe(true);
      expect(mine.some((r) => r.start > phases[1]!)).toBe(true);
    }
    // Run by the new instances now.
    const newIds = await Promise.all(replacements.map((r) => instanceIdOfChild(admin, r)));
    for (const id of sessionIds) expect(newIds).toContain(await admin.get(keys.sessionInstance(id)));
  });

  test('no request fails except ones in flight on an instance while it stopped', () => {
    // The only failures allowed here: a call that overlapped a stop window and was ended by
    // its owner stopping (moved: retry, or owner lost). Anything else — a 503, a 404, a
    // network error, a timeout — means the balancer or the server dropped a request.
    const inStopWindow = (r: CallResult) => stops.some((s) => r.start <= s.exitedAt + 200 && r.end >= s.signalled);
    const ownerStopped = (r: CallResult) => /moved it; retry|became unavailable/.test(r.detail);
    // The balancer answered every POST from a backend (no 502, no "no backend", nothing cut off).
    // GET streams are not calls: a stopping instance closes them and the client reopens them.
    // (Checked first: an incident names the instance and the error, which a failed call does not.)
    const names = new Map(children.map((child, i) => [new URL(child.url).origin, ['A', 'B', "A'", "B'"][i]]));
    const since = (t: number) => t - stops[0]!.signalled;
    const timeline = { exits: stops.map((s) => since(s.exitedAt)), replacementsReady: phases.map(since) };
    const incidents = balancer!.stats.incidents.filter(
      (i) => i.method !== 'GET' && (i.kind === 'upstream-error' || i.kind === 'no-backend' || i.kind === 'cut-off'),
    );
    // An instance that ended without being stopped crashed: its last output says how.
    const crashed = children.filter((child, i) => child.process.exitCode !== null && !(i < 2 && stops[i]?.code === 0));
    expect(crashed.map((child) => ({ name: names.get(new URL(child.url).origin), code: child.process.exitCode, output: child.output() }))).toEqual([]);
    expect(
      incidents.map((i) => ({ ...i, backend: i.backend && names.get(i.backend), at: since(i.at), ...timeline })),
    ).toEqual([]);
    const unexplained = results.filter((r) => !r.ok && !(inStopWindow(r) && ownerStopped(r)));
    expect(unexplained.map(describeFailure)).toEqual([]);
  });

  test('no request fails at all: draining finishes the calls in flight on the sessions it runs', () => {
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => !r.ok).map(describeFailure)).toEqual([]);
  });
});
