/**
 * Sessions that survive: `kill -9` of the instance running a session, while the
 * client drives it through another instance. Requests waiting on the dead owner
 * end with a JSON-RPC error; the client's retry, with the same Mcp-Session-Id and
 * no new initialize, is served by the survivor, which rebuilt the session from
 * the store with its log level, resource subscriptions and toggles.
 *
 * On one Redis node and on a Redis Cluster (3 masters, 3 replicas), each the suite's
 * own; Redis stays up throughout, only the instance dies.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { keys } from '../src/protocol/channels.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';
import {
  captureLogs,
  connectAdmin,
  connectRouted,
  instanceIdOfChild,
  routingFetch,
  sleep,
  storedState,
  textOf,
  type RedisAdmin,
} from './support/survival-helpers.js';
import { survivalRedisCases, type SurvivalRedis } from './support/survival-redis.js';

const RESOURCE = 'test://static/resource/1';
const SETTINGS = { INSTANCE_LEASE_TTL_MS: '2000', REQUEST_TIMEOUT_S: '20', RESOURCE_UPDATE_INTERVAL_MS: '200' };

describe.each(survivalRedisCases())('kill -9 of an owner, on %s', (_name, start) => {
  let redis: SurvivalRedis;
  let admin: RedisAdmin;
  let a: ChildInstance;
  let b: ChildInstance;
  let logsA: string[];
  let logsB: string[];
  /** Stops the test's traffic loop (also when the test failed half-way). */
  let stopLoops = () => {};
  const startChild = () => startChildInstance(undefined, { ...redis.env, ...SETTINGS });

  beforeAll(async () => {
    redis = await start();
    admin = await connectAdmin(redis.target);
    [a, b] = await Promise.all([startChild(), startChild()]);
    logsA = captureLogs(a);
    logsB = captureLogs(b);
  });

  afterAll(async () => {
    stopLoops();
    await Promise.allSettled([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    await admin?.close().catch(() => undefined);
    await redis?.stop();
  });

  test('kill -9 of the owner during traffic: waiting requests fail fast, the retry is served by the survivor with the session state intact', async () => {
    // initialize goes to A (A runs the session); every other request goes through B.
    const fetchLike = routingFetch(({ rpcMethod }) => (rpcMethod === 'initialize' ? a.url : b.url));
    const { client, transport, notifications, sent } = await connectRouted(a.url, fetchLike);
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const [idA, idB] = await Promise.all([instanceIdOfChild(admin, a), instanceIdOfChild(admin, b)]);
    expect(await admin.get(keys.sessionInstance(sessionId))).toBe(idA);
    await waitUntil(() => logsA.some((line) => line.includes('session created') && line.includes(sessionId)), 3000, 'A logged the session');

    const infoLogsOf = (since: number) =>
      notifications.filter((n) => n.at >= since && n.method === 'notifications/message' && n.params?.level === 'info');
    const updatesOf = (since: number) =>
      notifications.filter((n) => n.at >= since && n.method === 'notifications/resources/updated' && n.params?.uri === RESOURCE);

    // Control: at the default level the tool's progress logs (level info) do arrive.
    let mark = Date.now();
    await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.3, steps: 3 } });
    expect(infoLogsOf(mark)).toHaveLength(3);

    // The session's state: log level, a resource subscription, a toggle.
    await client.setLoggingLevel('error');
    mark = Date.now();
    await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.3, steps: 3 } });
    expect(infoLogsOf(mark)).toHaveLength(0);
    await client.subscribeResource({ uri: RESOURCE });
    mark = Date.now();
    await waitUntil(() => updatesOf(mark).length > 0, 5000, 'resource updates on the standalone stream before the kill');
    expect(textOf(await client.callTool({ name: 'toggle-dynamic-features', arguments: { enabled: true } }))).toMatch(/^Added/);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('dynamic-tool');

    // Traffic through B: sequential echo calls; each is retried (same client, same session) until it succeeds.
    let stopTraffic = false;
    stopLoops = () => {
      stopTraffic = true;
    };
    const trafficErrors: Array<{ at: number; message: string }> = [];
    const trafficOk: Array<{ at: number; text: string; expected: string }> = [];
    const traffic = (async () => {
      const until = Date.now() + 25_000;
      for (let i = 0; !stopTraffic && Date.now() < until && i < 400; i++) {
        const message = `traffic ${i}`;
        for (let attempt = 0; !stopTraffic && Date.now() < until; attempt++) {
          try {
            const result = await client.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: 15_000 });
            trafficOk.push({ at: Date.now(), text: textOf(result), expected: `Echo: ${message}` });
            break;
          } catch (error) {
            trafficErrors.push({ at: Date.now(), message: (error as Error).message });
            await sleep(100);
          }
        }
        await sleep(30);
      }
    })();

    // Requests in flight on A's session when A dies: one through the SDK client, one raw.
    const started = Date.now();
    const inflightSdk = client
      .callTool({ name: 'longRunningOperation', arguments: { duration: 15, steps: 15 } }, undefined, { timeout: 30_000 })
      .then(
        (result) => ({ ok: true as const, result, at: Date.now() }),
        (error: unknown) => ({ ok: false as const, error, at: Date.now() }),
      );
    const inflightRaw = post(b.url, sessionId, toolCall('raw-inflight', 'longRunningOperation', { duration: 15, steps: 15 }))
      .then(async (response) => ({ status: response.status, messages: sseMessages(await response.text()), at: Date.now() }));
    await sleep(600);
    await a.kill('SIGKILL');
    const killedAt = Date.now();

    // Both end with a JSON-RPC error, long before the 20 s request deadline.
    const sdkOutcome = await inflightSdk;
    expect(sdkOutcome.ok).toBe(false);
    if (!sdkOutcome.ok) {
      expect(sdkOutcome.error).toBeInstanceOf(McpError);
      expect((sdkOutcome.error as McpError).code).toBe(-32603);
    }
    const rawOutcome = await inflightRaw;
    expect(rawOutcome.status).toBe(200);
    expect(rawOutcome.messages.at(-1)).toMatchObject({ jsonrpc: '2.0', id: 'raw-inflight', error: { code: -32603 } });
    expect(sdkOutcome.at - started).toBeLessThan(10_000);
    expect(rawOutcome.at - started).toBeLessThan(10_000);

    // The client's own retry: same client, same session id, no initialize.
    let retried: unknown;
    for (let attempt = 0; attempt < 30 && retried === undefined; attempt++) {
      try {
        retried = await client.callTool({ name: 'echo', arguments: { message: 'retry after kill' } }, undefined, { timeout: 10_000 });
      } catch {
        await sleep(200);
      }
    }
    expect(textOf(retried)).toBe('Echo: retry after kill');
    const recoveredAt = Date.now();
    expect(transport.sessionId).toBe(sessionId);
    expect(sent.filter((r) => r.rpcMethod === 'initialize')).toHaveLength(1);
    expect(sent.filter((r) => r.at >= killedAt).every((r) => r.target === b.url)).toBe(true);

    // B runs the session now.
    expect(await admin.get(keys.sessionInstance(sessionId))).toBe(idB);
    expect(logsB.some((line) => line.includes('session taken over') && line.includes(sessionId))).toBe(true);

    // Log level kept: the tool's info logs stay filtered out on the rebuilt session.
    mark = Date.now();
    const afterLevel = await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.3, steps: 3 } });
    expect(textOf(afterLevel)).toBe('Long running operation completed. Duration: 0.3 seconds, Steps: 3.');
    expect(infoLogsOf(mark)).toHaveLength(0);

    // Toggle kept: dynamic-tool is listed and answers.
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('dynamic-tool');
    expect(textOf(await client.callTool({ name: 'dynamic-tool', arguments: {} }))).toMatch(/^Hello from dynamic-tool/);

    // Subscription kept: updates for the resource arrive again on the (reopened) standalone stream.
    mark = Date.now();
    await waitUntil(() => updatesOf(mark).length >= 2, 8000, 'resource updates from the rebuilt session');
    const state = await storedState(admin, sessionId);
    expect(state?.features).toMatchObject({ logLevel: 'error', subscriptions: [RESOURCE], dynamicFeatures: true });

    // Traffic: every echo answered correctly; failures only in the window between the kill and recovery.
    stopTraffic = true;
    await traffic;
    expect(trafficOk.length).toBeGreaterThan(0);
    for (const ok of trafficOk) expect(ok.text).toBe(ok.expected);
    expect(trafficOk.some((ok) => ok.at > recoveredAt)).toBe(true);
    expect(trafficErrors.filter((e) => e.at < killedAt || e.at > recoveredAt + 1000)).toEqual([]);
    expect(b.process.exitCode).toBeNull();
    await client.close();
  }, 45_000);

  test('a task whose instance is killed fails when it is next read, with a result saying so, instead of staying working', async () => {
    const [runner, survivor] = await Promise.all([startChild(), startChild()]);
    try {
      const [onRunner, onSurvivor] = await Promise.all([openSession(runner.url), openSession(survivor.url)]);
      const ask = async (url: string, sessionId: string, id: string, method: string, params: Record<string, unknown>) =>
        sseMessages(await (await post(url, sessionId, { jsonrpc: '2.0', id, method, params })).text()).at(-1)!;
      const created = await ask(runner.url, onRunner, 'start', 'tools/call', {
        name: 'longRunningOperation',
        arguments: { duration: 30, steps: 30 },
        task: { ttl: 60_000 },
      });
      const taskId = created.result.task.taskId as string;
      let polls = 0;
      const status = async () => (await ask(survivor.url, onSurvivor, `get-${polls++}`, 'tasks/get', { taskId })).result;

      // While its instance lives, the task is working, however it is read.
      expect((await status()).status).toBe('working');
      await runner.kill('SIGKILL');
      // Once the dead instance's lease lapsed (2 s), the next read finds the task failed.
      await waitUntil(async () => (await status()).status === 'failed', 10_000, 'the orphaned task failed');
      expect((await status()).statusMessage).toMatch(/stopped before the task finished/);
      const result = (await ask(survivor.url, onSurvivor, 'result', 'tasks/result', { taskId })).result;
      expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('stopped before the task finished') }] });
      const listed = (await ask(survivor.url, onSurvivor, 'list', 'tasks/list', {})).result.tasks as Array<{ taskId: string; status: string }>;
      expect(listed.find((t) => t.taskId === taskId)?.status).toBe('failed');
    } finally {
      await Promise.allSettled([runner.kill('SIGKILL'), survivor.kill('SIGKILL')]);
    }
  }, 30_000);
});
