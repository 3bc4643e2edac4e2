import { randomBytes } from 'node:crypto';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import { ErrorCode, McpError, type Request, type RequestId, type Result, type Task } from '@modelcontextprotocol/sdk/types.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { effectiveTtl, isTerminal, type TaskRecord, type TaskRecords } from './task-records.js';
import type { TaskRuns } from './task-runs.js';

const PAGE_SIZE = 10;

const ORPHANED = 'The server running this task stopped before the task finished';

/** Which instance this is, and whether another one is still alive (its lease). */
export interface TaskRunners {
  readonly instanceId: string;
  isAlive(instanceId: string): Promise<boolean>;
}

/** What all sessions of one instance share for tasks. */
export interface InstanceTasks {
  records: TaskRecords;
  /** Unexpired task records per user, all instances together (MAX_TASKS_PER_USER); 0 = no bound. */
  perUser: number;
  /** The tasks running on this instance, and the cancels that reach them. */
  runs: TaskRuns;
}

/**
 * The SDK's TaskStore for one session, scoped to the session's user: a task
 * created in any session of a user is visible from all of them, on every
 * instance, and from no other user's (an unknown and a foreign task read the same).
 */
export class UserTaskStore implements TaskStore {
  private readonly records: TaskRecords;

  constructor(
    private readonly tasks: InstanceTasks,
    private readonly userId: string,
    private readonly sessionId: string,
    private readonly runners: TaskRunners,
  ) {
    this.records = tasks.records;
  }

  /** Refuses (LIMIT_EXCEEDED_CODE) once the user holds MAX_TASKS_PER_USER unexpired records. */
  async createTask(params: CreateTaskOptions, _requestId: RequestId, _request: Request): Promise<Task> {
    const ttl = effectiveTtl(params.ttl);
    const now = new Date().toISOString();
    const task: Task = {
      taskId: randomBytes(16).toString('hex'),
      status: 'working',
      ttl,
      createdAt: now,
      lastUpdatedAt: now,
      pollInterval: Math.min(60_000, Math.max(100, params.pollInterval ?? 1000)),
    };
    const record: TaskRecord = { task, userId: this.userId, sessionId: this.sessionId, instanceId: this.runners.instanceId };
    if (!(await this.records.create(record, ttl, this.tasks.perUser))) throw tooManyTasks(this.tasks.perUser);
    return task;
  }

  async getTask(taskId: string): Promise<Task | null> {
    return (await this.mine(taskId))?.task ?? null;
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result): Promise<void> {
    if (!(await this.mine(taskId))) throw notFound(taskId);
    await this.records.transition(taskId, { status, result });
  }

  async getTaskResult(taskId: string): Promise<Result> {
    const record = await this.mine(taskId);
    if (!record) throw notFound(taskId);
    if (record.result) return record.result;
    if (record.task.status === 'cancelled') {
      throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} was cancelled and has no result`);
    }
    throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} has no result yet`);
  }

  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string): Promise<void> {
    const record = await this.mine(taskId);
    if (!record) throw notFound(taskId);
    if (isTerminal(record.task.status)) {
      throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} is already ${record.task.status}`);
    }
    const applied = await this.records.transition(taskId, { status, statusMessage });
    // Only the cancel that won tells the instance running the task to stop it.
    if (applied && status === 'cancelled') await this.tasks.runs.cancelled(taskId);
  }

  async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const offset = cursor === undefined ? 0 : decodeCursor(cursor);
    const ids = await this.records.listForUser(this.userId, offset, PAGE_SIZE + 1);
    const page = ids.slice(0, PAGE_SIZE);
    const records = await Promise.all(page.map(async (id) => this.settleOrphan(await this.records.get(id))));
    const tasks = records.flatMap((r) => (r ? [r.task] : []));
    return ids.length > PAGE_SIZE ? { tasks, nextCursor: encodeCursor(offset + PAGE_SIZE) } : { tasks };
  }

  private async mine(taskId: string): Promise<TaskRecord | null> {
    if (!/^[0-9a-f]{32}$/.test(taskId)) return null;
    const record = await this.records.get(taskId);
    return record && record.userId === this.userId ? this.settleOrphan(record) : null;
  }

  /**
   * A task still running on an instance that died can never finish: it fails
   * (with a result saying so), rather than stay `working` until its TTL. Checked
   * whenever the task is read; the instance's lease tells whether it lives.
   */
  private async settleOrphan(record: TaskRecord | null): Promise<TaskRecord | null> {
    if (!record || isTerminal(record.task.status) || !record.instanceId) return record;
    if (await this.runners.isAlive(record.instanceId)) return record;
    const result: Result = { content: [{ type: 'text', text: `Task failed: ${ORPHANED}` }], isError: true };
    await this.records.transition(record.task.taskId, { status: 'failed', statusMessage: ORPHANED, result });
    return this.records.get(record.task.taskId);
  }
}

function tooManyTasks(limit: number): McpError {
  return new LimitExceeded('MAX_TASKS_PER_USER', limit, 'user', 'task records for this user').toMcpError();
}

function notFound(taskId: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { o?: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0 && o <= 100_000) return o;
  } catch {
    // fall through
  }
  throw new Error('Invalid cursor');
}
