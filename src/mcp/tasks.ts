import { ErrorCode, McpError, type CallToolResult, type CreateTaskResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolContext, ToolDefinition } from './tools/types.js';

/** How often a running task checks whether it was cancelled (tasks/cancel may come through any instance). */
const CANCEL_CHECK_MS = 500;

/**
 * Runs a tools/call as a task (2025-11-25): answers at once with the task, runs
 * the tool in the background, and stores its result where tasks/result finds it
 * from any instance. A tasks/cancel marks the task cancelled in the store; the
 * running tool sees it within CANCEL_CHECK_MS and stops. The check runs only
 * while the task does.
 */
export async function startToolTask(
  definition: ToolDefinition,
  args: Record<string, unknown>,
  context: ToolContext,
  params: { ttl?: number | null },
): Promise<CreateTaskResult> {
  const store = context.extra.taskStore;
  if (!store || !definition.taskSupport) {
    throw new McpError(ErrorCode.MethodNotFound, `Tool ${definition.tool.name} cannot be called as a task`);
  }
  const task = await store.createTask({ ttl: params.ttl ?? null });
  const cancelled = new AbortController();
  const watch = setInterval(() => {
    store.getTask(task.taskId).then(
      (current) => current.status === 'cancelled' && cancelled.abort(),
      () => cancelled.abort(), // expired or gone: nobody can collect the result
    );
  }, CANCEL_CHECK_MS);
  watch.unref();

  void (async () => {
    let result: CallToolResult;
    try {
      result = await definition.call(args, { ...context, extra: { ...context.extra, signal: cancelled.signal } });
    } catch (error) {
      result = { content: [{ type: 'text', text: `Task failed: ${(error as Error).message}` }], isError: true };
    } finally {
      clearInterval(watch);
    }
    if (cancelled.signal.aborted) return;
    await store.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result).catch(() => undefined);
  })();

  return { task };
}
