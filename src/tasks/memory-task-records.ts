import { isTerminal, type TaskRecord, type TaskRecords, type TaskTransition } from './task-records.js';
import { sweepEvery } from '../store/sweeper.js';

/**
 * The embedded mode's task records: expire lazily, like the Redis keys they
 * stand for, and a sweep (one unref'd timer) purges those nobody reads again.
 */
export class MemoryTaskRecords implements TaskRecords {
  private readonly records = new Map<string, { record: TaskRecord; expiresAt: number }>();
  /** Per user, task id → when its record expires: the index the bound counts (as in Redis). */
  private readonly byUser = new Map<string, Map<string, number>>();
  private readonly stopSweeping: () => void;

  constructor(sweepIntervalMs = 30_000) {
    this.stopSweeping = sweepEvery(sweepIntervalMs, () => this.purgeExpired());
  }

  close(): void {
    this.stopSweeping();
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [userId, index] of this.byUser) {
      for (const [taskId, expiresAt] of index) {
        if (expiresAt > now) continue;
        index.delete(taskId);
        this.records.delete(taskId);
      }
      if (index.size === 0) this.byUser.delete(userId);
    }
  }

  async create(record: TaskRecord, ttlMs: number, limit: number): Promise<boolean> {
    const now = Date.now();
    const index = this.byUser.get(record.userId) ?? new Map<string, number>();
    for (const [taskId, expiresAt] of index) {
      if (expiresAt > now) continue;
      index.delete(taskId);
      this.records.delete(taskId);
    }
    if (limit > 0 && index.size >= limit) return false;
    const expiresAt = now + ttlMs;
    this.records.set(record.task.taskId, { record: structuredClone(record), expiresAt });
    index.set(record.task.taskId, expiresAt);
    this.byUser.set(record.userId, index);
    return true;
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    const entry = this.live(taskId);
    return entry ? structuredClone(entry.record) : null;
  }

  async transition(taskId: string, change: TaskTransition): Promise<boolean> {
    const entry = this.live(taskId);
    if (!entry || isTerminal(entry.record.task.status)) return false;
    const { task } = entry.record;
    task.status = change.status;
    if (change.statusMessage !== undefined) task.statusMessage = change.statusMessage;
    task.lastUpdatedAt = new Date().toISOString();
    if (change.result !== undefined) entry.record.result = structuredClone(change.result);
    if (change.error !== undefined) entry.record.error = structuredClone(change.error);
    if (change.inputRequests !== undefined) {
      if (Object.keys(change.inputRequests).length === 0) delete entry.record.inputRequests;
      else entry.record.inputRequests = structuredClone(change.inputRequests);
    }
    return true;
  }

  async answer(taskId: string, answers: Record<string, unknown>): Promise<boolean> {
    const entry = this.live(taskId);
    const record = entry?.record;
    if (!record || record.task.status !== 'input_required' || !record.inputRequests) return false;
    for (const [key, value] of Object.entries(answers)) {
      if (!(key in record.inputRequests)) continue;
      (record.answers ??= {})[key] = structuredClone(value);
      delete record.inputRequests[key];
    }
    if (Object.keys(record.inputRequests).length === 0) {
      delete record.inputRequests;
      record.task.status = 'working';
    }
    record.task.lastUpdatedAt = new Date().toISOString();
    return true;
  }

  async takeAnswers(taskId: string): Promise<Record<string, unknown>> {
    const record = this.live(taskId)?.record;
    const answers = record?.answers ?? {};
    if (record) delete record.answers;
    return answers;
  }

  async listForUser(userId: string, offset: number, count: number): Promise<string[]> {
    const now = Date.now();
    // Latest expiry first, ties by id descending: ZRANGE … BYSCORE REV's order.
    return [...(this.byUser.get(userId) ?? [])]
      .filter(([, expiresAt]) => expiresAt > now)
      .sort(([a, aExpires], [b, bExpires]) => bExpires - aExpires || (a < b ? 1 : a > b ? -1 : 0))
      .slice(offset, offset + count)
      .map(([taskId]) => taskId);
  }

  private live(taskId: string) {
    const entry = this.records.get(taskId);
    if (entry && entry.expiresAt <= Date.now()) {
      this.records.delete(taskId);
      return undefined;
    }
    return entry;
  }
}
