import { jest } from '@jest/globals';
import { authBackendCases, authDeploymentForSuite } from './support/auth-instances.js';
import { freshUser } from './support/auth-flow.js';
import { ALL_CLIENT_CAPABILITIES, accept, callTool, errorOf, inputRequiredOf, modernCall, resultOf, toolText, type Json } from './support/modern.js';
import { waitUntil } from './support/raw-mcp.js';

jest.setTimeout(60_000);

/**
 * The tasks extension of 2026-07-28 over both backends, with real tokens: a
 * task created through one instance is read, answered and cancelled through
 * the other, and belongs to its user alone.
 */

const TASKS = 'io.modelcontextprotocol/tasks';
const WITH_TASKS = { ...ALL_CLIENT_CAPABILITIES, extensions: { [TASKS]: {} } };

describe.each(authBackendCases())('the tasks extension on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([freshUser(suite.base, 'alice'), freshUser(suite.base, 'bob')]);
  });

  const taskCall = (url: string, id: string, method: string, taskId: string, extra: Json = {}, token = alice) =>
    modernCall(url, id, method, { taskId, ...extra }, { token, capabilities: WITH_TASKS, headers: { 'mcp-name': taskId } });

  async function statusOf(url: string, taskId: string, token = alice): Promise<Json> {
    return resultOf(await taskCall(url, `get-${Math.random()}`, 'tasks/get', taskId, {}, token));
  }

  async function until(url: string, taskId: string, status: string): Promise<Json> {
    let last: Json = {};
    await waitUntil(async () => (last = await statusOf(url, taskId)).status === status, 10_000, `task ${taskId} to be ${status}`);
    return last;
  }

  test('server/discover announces the extension', async () => {
    const result = resultOf(await modernCall(suite.B, 'discover', 'server/discover', {}, { token: alice }));
    expect(result.capabilities.extensions).toEqual({ [TASKS]: {} });
    expect(result.capabilities.tasks).toBeUndefined();
  });

  test('without the extension: task-supporting tools answer at once, a task-only tool and the tasks methods get -32021', async () => {
    const plain = resultOf(await callTool(suite.A, 'slow_compute', { seconds: 0, label: 'plain' }, { token: alice }));
    expect(plain.resultType).toBe('complete');
    expect(toolText(plain)).toBe('plain: computed in 0 s');

    const refused = await callTool(suite.A, 'failing_job', {}, { token: alice });
    expect(refused.status).toBe(400);
    const error = errorOf(refused);
    expect(error.code).toBe(-32021);
    expect(error.data!.requiredCapabilities).toEqual({ extensions: { [TASKS]: {} } });

    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const answer = await modernCall(suite.B, method, method, { taskId: 'a'.repeat(32), inputResponses: {} }, { token: alice, headers: { 'mcp-name': 'a'.repeat(32) } });
      expect(errorOf(answer).code).toBe(-32021);
    }
  });

  test('a task created through A is followed to its result through B', async () => {
    const created = resultOf(await callTool(suite.A, 'slow_compute', { seconds: 0.3, label: 'followed' }, { token: alice, capabilities: WITH_TASKS }));
    expect(created).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 3_600_000, pollIntervalMs: 1000 });
    expect(created.taskId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.task).toBeUndefined();
    expect(created.result).toBeUndefined();
    const done = await until(suite.B, created.taskId, 'completed');
    expect(done.resultType).toBe('complete');
    expect(toolText(done.result)).toBe('followed: computed in 0.3 s');
  });

  test('a task that asks parks in input_required; tasks/update on the other instance answers it and it completes', async () => {
    const created = resultOf(await callTool(suite.A, 'confirm_delete', { filename: 'notes.txt' }, { token: alice, capabilities: WITH_TASKS }));
    const parked = await until(suite.B, created.taskId, 'input_required');
    expect(Object.keys(parked.inputRequests)).toEqual(['confirm']);
    expect(parked.inputRequests.confirm.method).toBe('elicitation/create');
    expect(parked.requestState).toBeUndefined();

    const ack = resultOf(await taskCall(suite.B, 'update', 'tasks/update', created.taskId, { inputResponses: { confirm: accept({ confirm: true }), stray: { ignored: true } } }));
    expect(ack).toEqual({ resultType: 'complete', _meta: expect.any(Object) });
    const done = await until(suite.A, created.taskId, 'completed');
    expect(toolText(done.result)).toBe('Deleted notes.txt (not really: this is a demo).');
  });

  test('answering one of two questions leaves the other pending', async () => {
    const created = resultOf(await callTool(suite.A, 'multi_input', {}, { token: alice, capabilities: WITH_TASKS }));
    const parked = await until(suite.B, created.taskId, 'input_required');
    expect(Object.keys(parked.inputRequests).sort()).toEqual(['first', 'second']);
    await taskCall(suite.B, 'first', 'tasks/update', created.taskId, { inputResponses: { first: accept({ name: 'one' }) } });
    const half = await statusOf(suite.A, created.taskId);
    expect(half.status).toBe('input_required');
    expect(Object.keys(half.inputRequests)).toEqual(['second']);
    await taskCall(suite.A, 'second', 'tasks/update', created.taskId, { inputResponses: { second: accept({ name: 'two' }) } });
    expect(toolText((await until(suite.B, created.taskId, 'completed')).result)).toBe('Answers: one, two');
  });

  test('tasks/cancel through B stops the tool running on A; cancelling again is the same empty acknowledgement', async () => {
    const created = resultOf(await callTool(suite.A, 'slow_compute', { seconds: 60, label: 'cancelled' }, { token: alice, capabilities: WITH_TASKS }));
    const runner = suite.deployment.servers[0]!.runtime.tasks.runs;
    expect(runner.has(created.taskId)).toBe(true);
    const ack = resultOf(await taskCall(suite.B, 'cancel', 'tasks/cancel', created.taskId));
    expect(Object.keys(ack).sort()).toEqual(['_meta', 'resultType']);
    await waitUntil(() => !runner.has(created.taskId), 3000, 'the running tool to stop');
    expect((await statusOf(suite.A, created.taskId)).status).toBe('cancelled');
    const again = resultOf(await taskCall(suite.A, 'cancel-again', 'tasks/cancel', created.taskId));
    expect(again.resultType).toBe('complete');
  });

  test('a tool error completes with isError; a protocol error fails with the error inlined', async () => {
    const failing = resultOf(await callTool(suite.A, 'failing_job', {}, { token: alice, capabilities: WITH_TASKS }));
    const completed = await until(suite.B, failing.taskId, 'completed');
    expect(completed.result.isError).toBe(true);

    const broken = resultOf(await callTool(suite.A, 'protocol_error_job', {}, { token: alice, capabilities: WITH_TASKS }));
    const failed = await until(suite.B, broken.taskId, 'failed');
    expect(failed.error).toEqual({ code: -32603, message: 'protocol_error_job raises a protocol error on purpose' });
    expect(failed.result).toBeUndefined();
  });

  test('a call that asks first becomes a task once answered (input_required, then the task)', async () => {
    const round = inputRequiredOf(await callTool(suite.A, 'test_tool_with_task', {}, { token: alice, capabilities: WITH_TASKS }));
    expect(Object.keys(round.inputRequests)).toEqual(['name']);
    const created = resultOf(
      await callTool(suite.B, 'test_tool_with_task', {}, { token: alice, capabilities: WITH_TASKS, inputResponses: { name: accept({ name: 'Alice' }) }, requestState: round.requestState }),
    );
    expect(created.resultType).toBe('task');
    expect(created.requestState).toBeUndefined();
    expect(toolText((await until(suite.A, created.taskId, 'completed')).result)).toBe('Hello from the task, Alice!');
  });

  test("another user's task reads as unknown (-32602), and cannot be answered or cancelled", async () => {
    const created = resultOf(await callTool(suite.A, 'slow_compute', { seconds: 30, label: 'private' }, { token: alice, capabilities: WITH_TASKS }));
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const answer = await taskCall(suite.B, `bob-${method}`, method, created.taskId, { inputResponses: {} }, bob);
      expect(errorOf(answer).code).toBe(-32602);
    }
    expect((await statusOf(suite.A, created.taskId)).status).toBe('working');
    await taskCall(suite.A, 'cleanup', 'tasks/cancel', created.taskId);
    const unknown = await taskCall(suite.B, 'unknown', 'tasks/get', 'f'.repeat(32));
    expect(errorOf(unknown).code).toBe(-32602);
  });

  test('tasks/result and tasks/list do not exist in this era (404, -32601)', async () => {
    for (const method of ['tasks/result', 'tasks/list']) {
      const answer = await modernCall(suite.B, method, method, { taskId: 'x' }, { token: alice, capabilities: WITH_TASKS });
      expect(answer.status).toBe(404);
      expect(errorOf(answer).code).toBe(-32601);
    }
  });
});
