/**
 * Abuse of experimental tasks: one user may hold MAX_TASKS_PER_USER unexpired
 * task records, on all instances together, and creations past it are refused
 * with a JSON-RPC error naming the setting (nothing stored, nothing run); the
 * count follows the records' expiry; another user is served meanwhile. A cancel
 * reaches the instance running the task through the bus, at once, and no task
 * stays registered once it stopped. Then the task records themselves against the
 * real Redis: stores racing on two connections never pass the bound together.
 *
 * Every test signs in users of its own: task records outlive sessions, and the
 * run's Redis is shared by every suite.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, McpError, type Progress, type Task } from '@modelcontextprotocol/sdk/types.js';
import { LIMIT_EXCEEDED_CODE, LimitExceeded } from '../src/limits/limit-exceeded.js';
import { createLogger } from '../src/observability/logger.js';
import { channels } from '../src/protocol/channels.js';
import { connectRedis, type RedisConnections } from '../src/store/redis-connections.js';
import { MemoryTaskRecords } from '../src/tasks/memory-task-records.js';
import { RedisTaskRecords, taskKeys } from '../src/tasks/redis-task-records.js';
import type { TaskRecord, TaskRecords } from '../src/tasks/task-records.js';
import { authBackendCases, authDeploymentForSuite, startAuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { alternatingFetch } from './support/mcp-client.js';
import { waitUntil } from './support/raw-mcp.js';

const BOUND = 5;
const REFUSAL = new LimitExceeded('MAX_TASKS_PER_USER', BOUND, 'user', 'task records for this user');
/** Long enough never to end by itself during a test; a step (and a progress notification) every 200 ms. */
const LONG = { duration: 20, steps: 100 };
const QUICK = { duration: 0.05, steps: 1 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function createTask(client: Client, args: Record<string, unknown>, ttl = 60_000, onprogress?: (progress: Progress) => void): Promise<Task> {
  return client
    .request(
      { method: 'tools/call', params: { name: 'longRunningOperation', arguments: args, task: { ttl } } },
      CreateTaskResultSchema,
      onprogress ? { onprogress } : undefined,
    )
    .then((created) => created.task);
}

function expectRefused(error: unknown): void {
  expect(error).toBeInstanceOf(McpError);
  expect(error).toMatchObject({
    code: LIMIT_EXCEEDED_CODE,
    message: `MCP error ${LIMIT_EXCEEDED_CODE}: ${REFUSAL.message}`,
    data: REFUSAL.data,
  });
}

async function listAll(client: Client): Promise<Task[]> {
  const all: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.experimental.tasks.listTasks(cursor);
    all.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

describe.each(authBackendCases({ MAX_TASKS_PER_USER: String(BOUND) }))('task abuse on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);
  const clients: Client[] = [];

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
  });

  /** Tasks running on every instance of the deployment. */
  const running = () => suite.deployment.servers.reduce((sum, server) => sum + server.runtime.tasks.runs.size, 0);
  const runnerA = () => suite.deployment.servers[0]!.runtime.tasks.runs;

  async function token(role: string): Promise<string> {
    return (await signIn(suite.base, `${role}-${randomUUID()}`)).tokens.access_token;
  }

  /** A session run by `owner` (where its initialize lands), its later requests alternating over both instances. */
  async function sessionOn(owner: 'A' | 'B', bearer: string): Promise<Client> {
    const urls = owner === 'A' ? [suite.A, suite.B] : [suite.B, suite.A];
    const client = new Client({ name: 'abuse-tasks', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', urls[0]), {
      fetch: alternatingFetch(urls),
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    // Every test leaves nothing running: what it started ended, or it cancelled it.
    await waitUntil(() => running() === 0, 3000, 'no task running');
  });

  test('a flood of task-augmented calls stops at MAX_TASKS_PER_USER, on all instances together, with a JSON-RPC error naming it', async () => {
    const bearer = await token('flood');
    const [onA, onB] = await Promise.all([sessionOn('A', bearer), sessionOn('B', bearer)]);
    // Creations alternate between the session run by A and the one run by B.
    const created = [await createTask(onA, LONG), await createTask(onB, LONG), await createTask(onA, LONG), await createTask(onB, LONG)];
    // Then all at once, racing on both instances for the last place.
    const flood = await Promise.allSettled(Array.from({ length: 4 * BOUND }, (_, i) => createTask(i % 2 ? onB : onA, LONG)));
    const won = flood.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refused = flood.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(4 * BOUND - 1);
    refused.forEach(expectRefused);
    created.push(...won);

    // Refused creations left no record and no running tool behind.
    const ids = created.map((task) => task.taskId).sort();
    expect((await listAll(onB)).map((task) => task.taskId).sort()).toEqual(ids);
    expect(running()).toBe(BOUND);
    expect(ids.filter((id) => suite.deployment.servers.some((server) => server.runtime.tasks.runs.has(id)))).toEqual(ids);

    await Promise.all(created.map((task) => onB.experimental.tasks.cancelTask(task.taskId)));
    // Cancelled records still count until they expire.
    expectRefused(await createTask(onA, QUICK).catch((error: unknown) => error));
  });

  test('the bound counts unexpired records whatever their status: once they expire, the user creates tasks again', async () => {
    const bearer = await token('expiry');
    const [onA, onB] = await Promise.all([sessionOn('A', bearer), sessionOn('B', bearer)]);
    const ttl = 2000;
    const created: Task[] = [];
    for (let i = 0; i < BOUND; i++) created.push(await createTask(i % 2 ? onB : onA, QUICK, ttl));
    const lastExpiry = Math.max(...created.map((task) => Date.parse(task.createdAt) + ttl));
    // Completed, and still counted.
    await waitUntil(
      async () => (await Promise.all(created.map((task) => onA.experimental.tasks.getTask(task.taskId)))).every((t) => t.status === 'completed'),
      1500,
      'tasks completed',
    );
    expectRefused(await createTask(onB, QUICK, ttl).catch((error: unknown) => error));
    expect(Date.now()).toBeLessThan(lastExpiry);

    await sleep(lastExpiry - Date.now() + 50);
    const again = await Promise.all([createTask(onA, QUICK, ttl), createTask(onB, QUICK, ttl)]);
    expect(again.map((task) => task.status)).toEqual(['working', 'working']);
    // The expired records are gone from the user's list too.
    expect((await listAll(onA)).map((task) => task.taskId).sort()).toEqual(again.map((task) => task.taskId).sort());
  });

  test('another user is served while one floods: a tool call and a task creation answer at once', async () => {
    const [flooder, bystander] = await Promise.all([token('flooder'), token('bystander')]);
    const [floodA, floodB, other] = await Promise.all([sessionOn('A', flooder), sessionOn('B', flooder), sessionOn('B', bystander)]);
    const flood = Promise.allSettled(Array.from({ length: 60 }, (_, i) => createTask(i % 2 ? floodB : floodA, { duration: 0.3, steps: 1 })));

    let started = performance.now();
    const echo = await other.callTool({ name: 'echo', arguments: { message: 'still served' } });
    const echoMs = performance.now() - started;
    started = performance.now();
    const task = await createTask(other, QUICK);
    const taskMs = performance.now() - started;

    const outcomes = await flood;
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(BOUND);
    outcomes.forEach((o) => o.status === 'rejected' && expectRefused(o.reason));
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: still served' }]);
    expect(task.status).toBe('working');
    expect(echoMs).toBeLessThan(1500);
    expect(taskMs).toBeLessThan(1500);
    const result = await other.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.content[0]).toMatchObject({ text: expect.stringContaining('completed') });
  });

  test('tasks/cancel through instance B stops the tool running on instance A at once; nothing stays registered', async () => {
    const bearer = await token('cancel');
    const [onA, onB] = await Promise.all([sessionOn('A', bearer), sessionOn('B', bearer)]);
    const progress: number[] = [];
    const task = await createTask(onA, LONG, 60_000, (p) => progress.push(p.progress));
    expect(runnerA().has(task.taskId)).toBe(true);
    await waitUntil(() => progress.length >= 2, 3000, 'progress of the running task');

    const cancelled = await onB.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    const seen = progress.length;
    // The tool returned (its registration ends when it does), well within one step of 200 ms.
    await waitUntil(() => !runnerA().has(task.taskId), 150, 'the tool stopped');
    // A step every 200 ms: had it gone on, three more would have come by now (one may have been on its way).
    await sleep(600);
    expect(progress.length).toBeLessThanOrEqual(seen + 1);
    expect((await onA.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    await expect(onA.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)).rejects.toThrow(/cancelled/);
    for (const server of suite.deployment.servers) expect(server.runtime.tasks.runs.size).toBe(0);
  });

  test('garbage on the cancellation channel is dropped and a cancel for a task not running there is ignored; cancels still work after', async () => {
    const bearer = await token('garbage');
    const onA = await sessionOn('A', bearer);
    const [kept, stopped] = [await createTask(onA, LONG), await createTask(onA, LONG)];
    const bus = suite.deployment.servers.at(-1)!.runtime.backend.bus;
    for (const garbage of [
      'not json',
      '{}',
      JSON.stringify({ v: 1, type: 'cancelled', taskId: '../../etc' }),
      JSON.stringify({ v: 2, type: 'cancelled', taskId: kept.taskId }),
      JSON.stringify({ v: 1, type: 'cancelled', taskId: 'f'.repeat(32) }),
    ]) {
      await bus.publish(channels.tasksCancelled, garbage);
    }
    // Messages on one channel arrive in order: once this one took effect, the garbage before it was handled.
    await bus.publish(channels.tasksCancelled, JSON.stringify({ v: 1, type: 'cancelled', taskId: stopped.taskId }));
    await waitUntil(() => !runnerA().has(stopped.taskId), 1000, 'the announced task stopped');
    expect(runnerA().has(kept.taskId)).toBe(true);
    expect((await onA.experimental.tasks.getTask(kept.taskId)).status).toBe('working');

    await onA.experimental.tasks.cancelTask(kept.taskId);
    await waitUntil(() => !runnerA().has(kept.taskId), 1000, 'the cancelled task stopped');
  });

  test('a task still running when its record expires is stopped then, by the one expiry timer of its instance', async () => {
    const bearer = await token('outlived');
    const onA = await sessionOn('A', bearer);
    const task = await createTask(onA, LONG, 1000);
    const expiresAt = Date.parse(task.createdAt) + 1000;
    await sleep(expiresAt - Date.now() - 200);
    expect(runnerA().has(task.taskId)).toBe(true);
    await waitUntil(() => !runnerA().has(task.taskId), 1000, 'the outlived task stopped');
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });
});

describe('tasks running on one instance (MAX_RUNNING_TASKS_PER_INSTANCE)', () => {
  const suite = authDeploymentForSuite(() => startAuthDeployment(undefined, 1, { MAX_RUNNING_TASKS_PER_INSTANCE: '3', MAX_TASKS_PER_USER: '100' }));
  const clients: Client[] = [];

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
  });

  async function connect(user: string): Promise<Client> {
    const bearer = (await signIn(suite.base, `${user}-${randomUUID()}`)).tokens.access_token;
    const client = new Client({ name: 'abuse-tasks', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', suite.A), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
    clients.push(client);
    return client;
  }

  test('past the bound a task-augmented call is refused naming it, whoever asks; plain calls are served; a task that ends frees its place', async () => {
    const [mallory, bob] = [await connect('mallory'), await connect('bob')];
    // A burst: calls racing in cannot all pass the bound while their records are written.
    const burst = await Promise.allSettled(Array.from({ length: 8 }, () => createTask(mallory, LONG)));
    const tasks = burst.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(tasks).toHaveLength(3);
    const refusal = new LimitExceeded('MAX_RUNNING_TASKS_PER_INSTANCE', 3, 'instance', 'tasks running on this instance');
    for (const outcome of burst) if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ data: refusal.data });
    for (const client of [mallory, bob]) {
      const error = await createTask(client, QUICK).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: LIMIT_EXCEEDED_CODE, message: `MCP error ${LIMIT_EXCEEDED_CODE}: ${refusal.message}`, data: refusal.data });
    }
    const echo = await bob.callTool({ name: 'echo', arguments: { message: 'plain' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: plain' }]);
    await mallory.experimental.tasks.cancelTask(tasks[0]!.taskId);
    await waitUntil(() => suite.deployment.servers[0]!.runtime.tasks.runs.size === 2, 3000, 'the cancelled task gone');
    const admitted = await createTask(bob, QUICK);
    expect(admitted.status).toBe('working');
    await Promise.all(tasks.slice(1).map((task) => mallory.experimental.tasks.cancelTask(task.taskId)));
  });
});

function record(userId: string, taskId = randomUUID().replace(/-/g, '')): TaskRecord {
  const now = new Date().toISOString();
  return { task: { taskId, status: 'working', ttl: 1000, createdAt: now, lastUpdatedAt: now, pollInterval: 1000 }, userId, sessionId: 's' };
}

describe('task records against the real Redis', () => {
  let connections: RedisConnections[];

  beforeAll(async () => {
    const logger = createLogger('error', true);
    connections = await Promise.all([connectRedis(process.env.TEST_REDIS_URL!, logger), connectRedis(process.env.TEST_REDIS_URL!, logger)]);
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
  });

  test.each(['in memory', 'on Redis'])(
    '%s alike: at the bound a creation is refused and stores nothing; latest expiry listed first; an expired record frees its place',
    async (where) => {
      const records: TaskRecords = where === 'on Redis' ? new RedisTaskRecords(connections[0]!.commands) : new MemoryTaskRecords();
      const userId = `contract-${randomUUID()}`;
      const [soon, late, refused, after] = [record(userId), record(userId), record(userId), record(userId)];
      expect(await records.create(late, 5000, 2)).toBe(true);
      expect(await records.create(soon, 300, 2)).toBe(true);
      expect(await records.create(refused, 5000, 2)).toBe(false);
      expect(await records.get(refused.task.taskId)).toBeNull();
      expect(await records.listForUser(userId, 0, 10)).toEqual([late.task.taskId, soon.task.taskId]);
      expect(await records.listForUser(userId, 1, 10)).toEqual([soon.task.taskId]);
      // Another user's records count apart.
      expect(await records.create(record(`${userId}-other`), 5000, 2)).toBe(true);

      await sleep(350);
      expect(await records.listForUser(userId, 0, 10)).toEqual([late.task.taskId]);
      expect(await records.create(after, 5000, 2)).toBe(true);
      expect(await records.create(record(userId), 5000, 2)).toBe(false);
      expect(await records.create(record(userId), 5000, 0)).toBe(true); // 0: no bound
    },
  );

  test('two instances racing on their own connections never pass the bound together', async () => {
    const userId = `race-${randomUUID()}`;
    const [one, two] = connections.map((c) => new RedisTaskRecords(c.commands));
    const attempts = Array.from({ length: 60 }, (_, i) => (i % 2 ? one! : two!).create(record(userId), 60_000, 7));
    expect((await Promise.all(attempts)).filter(Boolean)).toHaveLength(7);
    expect(await connections[0]!.commands.zCard(taskKeys.userTasks(userId))).toBe(7);
    expect(await one!.listForUser(userId, 0, 100)).toHaveLength(7);
  });

  test('the index scores each task by when its record expires, and lives as long as its last record', async () => {
    const userId = `index-${randomUUID()}`;
    const redis = connections[0]!.commands;
    const records = new RedisTaskRecords(redis);
    const [short, long] = [record(userId), record(userId)];
    const before = Date.now();
    await records.create(long, 5000, 0);
    await records.create(short, 1000, 0);
    const after = Date.now();
    const scores = await redis.zRangeWithScores(taskKeys.userTasks(userId), 0, -1);
    expect(scores.map((s) => s.value)).toEqual([short.task.taskId, long.task.taskId]);
    expect(scores[0]!.score).toBeGreaterThanOrEqual(before + 1000);
    expect(scores[0]!.score).toBeLessThanOrEqual(after + 1000);
    expect(scores[1]!.score).toBeGreaterThanOrEqual(before + 5000);
    expect(scores[1]!.score).toBeLessThanOrEqual(after + 5000);
    const [indexTtl, recordTtl] = await Promise.all([redis.pTTL(taskKeys.userTasks(userId)), redis.pTTL(taskKeys.task(long.task.taskId))]);
    expect(indexTtl).toBeGreaterThan(4000);
    expect(indexTtl).toBeLessThanOrEqual(5000);
    expect(Math.abs(indexTtl - recordTtl)).toBeLessThan(100);
  });
});
