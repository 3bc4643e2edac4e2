import { isTerminal, type TaskRecord, type TaskRecords, type TaskTransition } from './task-records.js';

/** The embedded mode's task records: expire lazily, like the Redis keys they stand for. */
export class MemoryTaskRecords implements TaskRecords {
  private readonly records = new Map<string, { record: TaskRecord; expiresAt: number }>();
  private readonly byUser = new Map<string, string[]>();

  async create(record: TaskRecord, ttlMs: number): Promise<void> {
    this.records.set(record.task.taskId, { record: structuredClone(record), expiresAt: Date.now() + ttlMs });
    const ids = this.byUser.get(record.userId) ?? [];
    ids.unshift(record.task.taskId);
    this.byUser.set(record.userId, ids);
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
    return true;
  }

  async listForUser(userId: string, offset: number, count: number): Promise<string[]> {
    const ids = (this.byUser.get(userId) ?? []).filter((id) => this.live(id));
    this.byUser.set(userId, ids);
    return ids.slice(offset, offset + count);
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
