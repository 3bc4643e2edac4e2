/**
 * Tasks (2025-11-25, experimental): a task-augmented tools/call answers at once
 * with a task; any instance answers tasks/get, tasks/result, tasks/list and
 * tasks/cancel for it, because task state lives in the store, scoped to the user.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, CreateTaskResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { RunningServer } from '../src/server.js';
import { backendCases } from './support/backends.js';
import { connectStreamable } from './support/mcp-client.js';
import { waitUntil } from './support/raw-mcp.js';

async function startTask(client: Client, args: Record<string, unknown>, ttl = 60_000) {
  const created = await client.request(
    { method: 'tools/call', params: { name: 'longRunningOperation', arguments: args, task: { ttl } } },
    CreateTaskResultSchema,
  );
  return created.task;
}

describe.each(backendCases())('tasks on %s', (_name, start) => {
  let servers: RunningServer[];
  let urls: string[];
  let client: Client;
  let other: Client;

  beforeAll(async () => {
    servers = await start();
    urls = servers.map((s) => s.url);
    ({ client } = await connectStreamable(urls));
    // A second session of the same user, driven through the instances in the other order.
    ({ client: other } = await connectStreamable([...urls].reverse()));
  });

  afterAll(async () => {
    await Promise.all([client?.close(), other?.close()]);
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('the server announces task support and which tools accept tasks', async () => {
    expect(client.getServerCapabilities()?.tasks).toMatchObject({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'longRunningOperation')?.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.find((t) => t.name === 'echo')?.execution).toBeUndefined();
  });

  test('a task created through one instance is polled and collected through the others', async () => {
    const task = await startTask(client, { duration: 0.4, steps: 2 });
    expect(task.status).toBe('working');
    expect(task.ttl).toBe(60_000);
    await waitUntil(async () => (await client.experimental.tasks.getTask(task.taskId)).status === 'completed', 5000, 'task completed');
    const result = await client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.content).toEqual([
      { type: 'text', text: 'Long running operation completed. Duration: 0.4 seconds, Steps: 2.' },
    ]);
    // Another session of the same user sees it too.
    expect((await other.experimental.tasks.getTask(task.taskId)).status).toBe('completed');
  });

  test('tasks/result waits for a task still working', async () => {
    const task = await startTask(client, { duration: 0.6, steps: 1 });
    const result = await other.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.content[0]).toMatchObject({ text: expect.stringContaining('completed') });
  });

  test('tasks/list pages through the user\u2019s tasks, the latest to expire first', async () => {
    const a = await startTask(client, { duration: 0.1, steps: 1 });
    const b = await startTask(other, { duration: 0.1, steps: 1 });
    // Newer, but it expires first.
    const c = await startTask(client, { duration: 0.1, steps: 1 }, 30_000);
    const { tasks } = await client.experimental.tasks.listTasks();
    const ids = tasks.map((t) => t.taskId);
    expect(ids.indexOf(b.taskId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(b.taskId)).toBeLessThan(ids.indexOf(a.taskId));
    expect(ids.indexOf(a.taskId)).toBeLessThan(ids.indexOf(c.taskId));
  });

  test('tasks/cancel through another instance marks the task cancelled and stops its tool at once; it never completes', async () => {
    const task = await startTask(client, { duration: 1.2, steps: 3 });
    const runsTask = () => servers.some((s) => s.runtime.tasks.runs.has(task.taskId));
    expect(runsTask()).toBe(true);
    const cancelled = await other.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    // The tool returned (it is no longer registered anywhere): nothing is left to complete the task.
    await waitUntil(() => !runsTask(), 200, 'the tool stopped');
    expect((await client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    await expect(client.experimental.tasks.cancelTask(task.taskId)).rejects.toThrow(/terminal/);
  });

  test('unknown tasks and tools that do not run as tasks are errors, not crashes', async () => {
    await expect(client.experimental.tasks.getTask('0'.repeat(32))).rejects.toBeInstanceOf(McpError);
    await expect(client.experimental.tasks.getTask('../../etc')).rejects.toBeInstanceOf(McpError);
    await expect(
      client.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' }, task: {} } }, CreateTaskResultSchema),
    ).rejects.toMatchObject({ code: -32601 });
    // Out-of-bounds TTLs are clamped, and the clamped value is reported.
    const task = await startTask(client, { duration: 0.1, steps: 1 }, 10 * 24 * 3_600_000);
    expect(task.ttl).toBe(24 * 3_600_000);
  });
});
