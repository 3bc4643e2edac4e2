import type { RedisClient } from '../routing/redis-connections.js';
import { TASK_TTL, TERMINAL_STATUSES, type TaskRecord, type TaskRecords, type TaskTransition } from './task-records.js';

export const taskKeys = {
  /** → JSON TaskRecord; TTL = the task's ttl (1 s … 24 h). */
  task: (taskId: string) => `mcp:task:${taskId}`,
  /** → sorted set of the user's task ids by creation time; TTL = the longest task ttl (24 h), renewed on create. */
  userTasks: (userId: string) => `mcp:user:${userId}:tasks`,
};

// Read-check-write in one step, so that a cancel and a completion racing on two
// instances cannot both win: the first to reach a terminal status does.
const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local record = cjson.decode(raw)
local terminal = { ${TERMINAL_STATUSES.map((s) => `${s} = true`).join(', ')} }
if terminal[record.task.status] then return 0 end
local change = cjson.decode(ARGV[1])
record.task.status = change.status
record.task.lastUpdatedAt = ARGV[2]
if change.statusMessage then record.task.statusMessage = change.statusMessage end
if change.result then record.result = change.result end
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return 1
`;

export class RedisTaskRecords implements TaskRecords {
  constructor(private readonly client: RedisClient) {}

  async create(record: TaskRecord, ttlMs: number): Promise<void> {
    const index = taskKeys.userTasks(record.userId);
    await this.client
      .multi()
      .set(taskKeys.task(record.task.taskId), JSON.stringify(record), { expiration: { type: 'PX', value: ttlMs } })
      .zAdd(index, { score: Date.now(), value: record.task.taskId })
      .pExpire(index, TASK_TTL.maxMs)
      .exec();
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    const raw = await this.client.get(taskKeys.task(taskId));
    return raw ? (JSON.parse(raw) as TaskRecord) : null;
  }

  async transition(taskId: string, change: TaskTransition): Promise<boolean> {
    const applied = await this.client.eval(TRANSITION, {
      keys: [taskKeys.task(taskId)],
      arguments: [JSON.stringify(change), new Date().toISOString()],
    });
    return Number(applied) === 1;
  }

  async listForUser(userId: string, offset: number, count: number): Promise<string[]> {
    const index = taskKeys.userTasks(userId);
    const ids = await this.client.zRange(index, offset, offset + count - 1, { REV: true });
    if (ids.length === 0) return [];
    // Members whose task expired are dropped from the index as they are met.
    const batch = this.client.multi();
    for (const id of ids) batch.exists(taskKeys.task(id));
    const checks = await batch.execAsPipeline();
    const alive: string[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => (Number(checks[i]) === 1 ? alive : gone).push(id));
    if (gone.length > 0) await this.client.zRem(index, gone);
    return alive;
  }
}
