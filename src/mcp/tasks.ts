import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError, type CallToolResult, type CreateTaskResult, type Task } from '@modelcontextprotocol/sdk/types.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import type { TaskRun, TaskRuns } from '../tasks/task-runs.js';
import { sessionCallContext } from './session-call-context.js';
import type { ToolDefinition } from './tools/types.js';
import type { CallSession } from './call-context.js';
import type { ProgressToken } from '@modelcontextprotocol/sdk/types.js';

/**
 * The registry of tasks running on the instance, per session Server. The SDK
 * hands a tool only a per-request wrapper of the task store, so the registry
 * cannot travel with the store; the Server is what a tool call sees.
 */
const taskRunsByServer = new WeakMap<Server, TaskRuns>();

/** Tasks started by this session's Server run in `runs` (the instance's registry), where cancels reach them. */
export function attachTaskRuns(server: Server, runs: TaskRuns): void {
  taskRunsByServer.set(server, runs);
}

/**
 * Runs a tools/call as a task (2025-11-25): answers at once with the task, runs
 * the tool in the background, and stores its result where tasks/result finds it
 * from any instance. A tasks/cancel on any instance reaches the running tool
 * through the bus and aborts its signal at once (TaskRuns), as does the expiry
 * of the task's record: nobody could collect its result any more.
 */
export async function startToolTask(
  definition: ToolDefinition,
  args: Record<string, unknown>,
  session: CallSession,
  progressToken: ProgressToken | undefined,
  params: { ttl?: number | null },
): Promise<CreateTaskResult> {
  const store = session.extra.taskStore;
  const runs = taskRunsByServer.get(session.server);
  if (!store || !runs || !definition.taskSupport) {
    throw new McpError(ErrorCode.MethodNotFound, `Tool ${definition.tool.name} cannot be called as a task`);
  }
  let unreserve: () => void;
  try {
    unreserve = runs.reserve();
  } catch (error) {
    throw error instanceof LimitExceeded ? error.toMcpError() : error;
  }
  let task: Task;
  let run: TaskRun;
  try {
    task = await store.createTask({ ttl: params.ttl ?? null });
    try {
      run = await runs.start(task.taskId, Date.parse(task.createdAt) + task.ttl!);
    } catch (error) {
      // Not listening for cancels (Redis failed): a task nobody could stop does not start.
      const text = `Task failed: it could not be started (${(error as Error).message})`;
      await store.storeTaskResult(task.taskId, 'failed', { content: [{ type: 'text', text }], isError: true }).catch(() => undefined);
      throw error;
    }
  } finally {
    unreserve();
  }

  void (async () => {
    let result: CallToolResult;
    try {
      result = await definition.call(args, sessionCallContext(session, progressToken, run.signal));
    } catch (error) {
      result = { content: [{ type: 'text', text: `Task failed: ${(error as Error).message}` }], isError: true };
    } finally {
      run.end();
    }
    if (run.signal.aborted) return;
    await store.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result).catch(() => undefined);
  })();

  return { task };
}
