import { randomBytes } from 'node:crypto';
import { ErrorCode, McpError, type CallToolResult, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { CallContext, ClientQuestion } from '../mcp/call-context.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { effectiveTtl, isTerminal, type TaskRecord } from '../tasks/task-records.js';
import type { TaskRun } from '../tasks/task-runs.js';
import type { InstanceTasks, TaskRunners } from '../tasks/user-task-store.js';
import type { ChangeEvents } from './change-events.js';
import { ANSWER_SCHEMAS, inputRequestOf, requireCapability } from './modern-call-context.js';
import { MODERN_ERRORS } from './wire.js';

/**
 * The tasks extension of 2026-07-28 (`io.modelcontextprotocol/tasks`): a
 * client that declares it in a request's clientCapabilities lets the server
 * run a task-supporting tool as a task. The call answers at once with the task
 * (resultType "task"); tasks/get, tasks/update (answers to the questions the
 * task waits for) and tasks/cancel work on any instance, for the task's user
 * only. Records are the same per-user records as the 2025 experimental tasks
 * (MAX_TASKS_PER_USER, MAX_RUNNING_TASKS_PER_INSTANCE); answers and cancels
 * reach the instance running the task through the bus.
 */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** How often a client is told to poll tasks/get. */
export const TASK_POLL_INTERVAL_MS = 1000;

const ORPHANED = 'The server running this task stopped before the task finished';

export function tasksNegotiated(capabilities: ClientCapabilities): boolean {
  const extensions = (capabilities as { extensions?: Record<string, unknown> }).extensions;
  return typeof extensions === 'object' && extensions !== null && extensions[TASKS_EXTENSION] !== undefined;
}

/** -32021: the method or tool needs the extension and the request did not declare it. */
export function extensionRequired(what: string): McpError {
  return new McpError(MODERN_ERRORS.missingClientCapability, `${what} needs the client capability extensions["${TASKS_EXTENSION}"]`, {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

function notFound(taskId: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId.slice(0, 64)}`);
}

/** The fields of a task on the wire (flat: no `task` wrapper). */
function taskFields(record: TaskRecord) {
  const { task } = record;
  return {
    taskId: task.taskId,
    status: task.status,
    ...(task.statusMessage !== undefined && { statusMessage: task.statusMessage }),
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: task.ttl ?? null,
    pollIntervalMs: task.pollInterval ?? TASK_POLL_INTERVAL_MS,
  };
}

export class ModernTasks {
  constructor(
    private readonly tasks: InstanceTasks,
    private readonly runners: TaskRunners,
    private readonly events: ChangeEvents,
  ) {}

  /**
   * Creates the task and runs `work` in the background; resolves with the
   * task's fields (the CreateTaskResult). Refused past the user's task bound
   * or the instance's running bound (LimitExceeded).
   */
  async start(
    userId: string,
    clientCapabilities: ClientCapabilities,
    work: (context: CallContext) => Promise<CallToolResult>,
  ): Promise<Record<string, unknown>> {
    const unreserve = this.tasks.runs.reserve();
    let record: TaskRecord;
    let run: TaskRun;
    try {
      const ttl = effectiveTtl(undefined);
      const now = new Date().toISOString();
      record = {
        task: { taskId: randomBytes(16).toString('hex'), status: 'working', ttl, createdAt: now, lastUpdatedAt: now, pollInterval: TASK_POLL_INTERVAL_MS },
        userId,
        sessionId: '',
        instanceId: this.runners.instanceId,
      };
      if (!(await this.tasks.records.create(record, ttl, this.tasks.perUser))) {
        throw new LimitExceeded('MAX_TASKS_PER_USER', this.tasks.perUser, 'user', 'task records for this user');
      }
      run = await this.tasks.runs.start(record.task.taskId, Date.parse(now) + ttl);
    } finally {
      unreserve();
    }
    void this.run(record.task.taskId, run, taskCallContext(this, record.task.taskId, run, clientCapabilities, this.events), work);
    return taskFields(record);
  }

  /** tasks/get: the task with its result, error or pending questions. */
  async get(userId: string, taskId: string): Promise<Record<string, unknown>> {
    const record = await this.mine(userId, taskId);
    return {
      ...taskFields(record),
      ...(record.task.status === 'completed' && record.result && { result: record.result }),
      ...(record.task.status === 'failed' && { error: record.error ?? { code: ErrorCode.InternalError, message: record.task.statusMessage ?? 'Task failed' } }),
      ...(record.task.status === 'input_required' && record.inputRequests && { inputRequests: record.inputRequests }),
    };
  }

  /** tasks/update: answers to the questions the task waits for; keys it does not wait for are ignored. */
  async update(userId: string, taskId: string, inputResponses: Record<string, unknown>): Promise<void> {
    await this.mine(userId, taskId);
    if (await this.tasks.records.answer(taskId, inputResponses)) await this.tasks.runs.answeredElsewhere(taskId);
  }

  /** tasks/cancel: idempotent; a terminal task stays as it is. */
  async cancel(userId: string, taskId: string): Promise<void> {
    const record = await this.mine(userId, taskId);
    if (isTerminal(record.task.status)) return;
    if (await this.tasks.records.transition(taskId, { status: 'cancelled', statusMessage: 'Cancelled by the client', inputRequests: {} })) {
      await this.tasks.runs.cancelled(taskId);
    }
  }

  /** Parks the task on its questions until tasks/update answers them all. */
  async waitForAnswers(taskId: string, run: TaskRun, questions: Record<string, ClientQuestion>): Promise<Record<string, unknown>> {
    await this.tasks.records.transition(taskId, {
      status: 'input_required',
      inputRequests: Object.fromEntries(Object.entries(questions).map(([key, question]) => [key, inputRequestOf(question)])),
    });
    const answers: Record<string, unknown> = {};
    for (;;) {
      // Listening before reading: an answer delivered in between still wakes the task.
      const woken = run.answered();
      let refused = false;
      for (const [key, answer] of Object.entries(await this.tasks.records.takeAnswers(taskId))) {
        const question = questions[key];
        if (!question) continue;
        if (ANSWER_SCHEMAS[question.method].safeParse(answer).success) answers[key] = answer;
        else refused = true;
      }
      const missing = Object.entries(questions).filter(([key]) => !(key in answers));
      if (missing.length === 0) return answers;
      if (run.signal.aborted) throw new Error('The task was cancelled');
      // An answer that was no answer left its question unasked: ask it again.
      if (refused) {
        await this.tasks.records.transition(taskId, {
          status: 'input_required',
          inputRequests: Object.fromEntries(missing.map(([key, question]) => [key, inputRequestOf(question)])),
        });
      }
      await woken;
    }
  }

  private async run(taskId: string, run: TaskRun, context: CallContext, work: (context: CallContext) => Promise<CallToolResult>) {
    try {
      const result = await work(context);
      if (!run.signal.aborted) await this.tasks.records.transition(taskId, { status: 'completed', result });
    } catch (error) {
      if (run.signal.aborted) return;
      const { code, message, data } =
        error instanceof McpError ? error : { code: ErrorCode.InternalError, message: (error as Error).message, data: undefined };
      await this.tasks.records
        .transition(taskId, { status: 'failed', statusMessage: message, error: { code, message: message.replace(/^MCP error -?\d+: /, ''), ...(data !== undefined && { data }) } })
        .catch(() => undefined);
    } finally {
      run.end();
    }
  }

  private async mine(userId: string, taskId: string): Promise<TaskRecord> {
    if (!/^[0-9a-f]{32}$/.test(taskId)) throw notFound(taskId);
    const record = await this.tasks.records.get(taskId);
    if (!record || record.userId !== userId) throw notFound(taskId);
    if (isTerminal(record.task.status) || !record.instanceId || (await this.runners.isAlive(record.instanceId))) return record;
    // Its instance died: nothing will ever finish it.
    await this.tasks.records.transition(taskId, { status: 'failed', statusMessage: ORPHANED, error: { code: ErrorCode.InternalError, message: ORPHANED } });
    return (await this.tasks.records.get(taskId)) ?? record;
  }
}

/**
 * The call context of a task: a question parks the task in input_required
 * until tasks/update answers it; there is no stream for progress or logs.
 */
function taskCallContext(
  tasks: ModernTasks,
  taskId: string,
  run: TaskRun,
  clientCapabilities: ClientCapabilities,
  events: ChangeEvents,
): CallContext {
  const given: Record<string, unknown> = {};
  let rank = 0;
  const askAll = async (questions: Record<string, ClientQuestion>) => {
    for (const question of Object.values(questions)) requireCapability(question, clientCapabilities);
    const missing = Object.fromEntries(Object.entries(questions).filter(([key]) => !(key in given)));
    if (Object.keys(missing).length > 0) Object.assign(given, await tasks.waitForAnswers(taskId, run, missing));
    return Object.fromEntries(Object.keys(questions).map((key) => [key, given[key]]));
  };
  const context: CallContext = {
    signal: run.signal,
    clientCapabilities,
    reportsProgress: false,
    ask: (async (question: ClientQuestion, key?: string) => {
      const name = key ?? `question-${++rank}`;
      return (await askAll({ [name]: question }))[name];
    }) as CallContext['ask'],
    askAll: askAll as CallContext['askAll'],
    requires: (question) => requireCapability(question, clientCapabilities),
    progress: async () => undefined,
    log: async () => undefined,
    notify: async () => undefined,
    listChanged: async (list) => events.listChanged(list),
    continueAsTask: (work) => work(context),
  };
  return context;
}
