import type { Result, Task } from '@modelcontextprotocol/sdk/types.js';

/**
 * Tasks (MCP 2025-11-25, experimental) belong to a user, not to an instance or a
 * session: any instance answers tasks/get, tasks/result, tasks/list and
 * tasks/cancel for any task of its user, whichever instance runs it.
 */
export interface TaskRecord {
  task: Task;
  userId: string;
  sessionId: string;
  /** The instance running the task: if it dies, nothing will ever finish the task. */
  instanceId?: string;
  result?: Result;
  /** The tasks extension (2026-07-28): the protocol error a `failed` task ended with. */
  error?: TaskError;
  /** The tasks extension: questions the task waits for, by key (status `input_required`). */
  inputRequests?: Record<string, unknown>;
  /** The tasks extension: answers tasks/update delivered and the running task has not taken yet. */
  answers?: Record<string, unknown>;
}

export interface TaskError {
  code: number;
  message: string;
  data?: unknown;
}

export type TaskStatus = Task['status'];

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A change to a task that is refused once the task reached a terminal status. */
export interface TaskTransition {
  status: TaskStatus;
  statusMessage?: string;
  result?: Result;
  error?: TaskError;
  /** Replaces the pending questions (an empty object clears them). */
  inputRequests?: Record<string, unknown>;
}

/**
 * Where task records live. Each user's records are indexed by when they expire:
 * that index is what the bound on records per user counts, and what tasks/list
 * pages over.
 */
export interface TaskRecords {
  /**
   * Stores the record for ttlMs unless its user already has `limit` unexpired
   * records, whatever their status (0 = no bound). Counting and adding are one
   * step: instances racing cannot pass the bound together. False when refused
   * (nothing stored).
   */
  create(record: TaskRecord, ttlMs: number, limit: number): Promise<boolean>;
  get(taskId: string): Promise<TaskRecord | null>;
  /** Applies the transition unless the task is terminal; false when refused or missing. */
  transition(taskId: string, change: TaskTransition): Promise<boolean>;
  /**
   * Delivers answers to the questions a task waits for (tasks/update): only
   * keys it is waiting for are kept; they leave its pending questions, and a
   * task with none left is `working` again. False when the task is missing or
   * not waiting.
   */
  answer(taskId: string, answers: Record<string, unknown>): Promise<boolean>;
  /** Takes (and removes) the delivered answers of a task. */
  takeAnswers(taskId: string): Promise<Record<string, unknown>>;
  /** A user's unexpired task ids, the latest to expire first. */
  listForUser(userId: string, offset: number, count: number): Promise<string[]>;
}

/** Bounds on what a client may ask for: tasks live between 1 s and 24 h, 1 h when unsaid. */
export const TASK_TTL = { minMs: 1_000, maxMs: 24 * 3_600_000, defaultMs: 3_600_000 };

export function effectiveTtl(requested: number | null | undefined): number {
  if (requested === null || requested === undefined) return TASK_TTL.defaultMs;
  return Math.min(TASK_TTL.maxMs, Math.max(TASK_TTL.minMs, Math.floor(requested)));
}
