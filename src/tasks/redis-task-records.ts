import type { RedisClient } from '../store/redis-connections.js';
import { TERMINAL_STATUSES, type TaskRecord, type TaskRecords, type TaskTransition } from './task-records.js';

export const taskKeys = {
  /** → JSON TaskRecord; TTL = the task's ttl (1 s … 24 h). */
  task: (taskId: string) => `mcp:task:${taskId}`,
  /**
   * → sorted set of the user's task ids, each scored by when its record expires
   * (epoch ms); TTL = until the last of them expires (MAX_TASKS_PER_USER counts it).
   */
  userTasks: (userId: string) => `mcp:user:${userId}:tasks`,
};

// Prune, count and add to the user's index in one step, so that instances racing
// cannot pass the bound together; a refused task leaves nothing behind. The index
// lives as long as its longest-lived member, so that it never outlasts the records
// it counts. The record itself is written next, apart: the two keys live in
// different hash slots (the user's, the task's).
const ADMIT = `
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[4])
if limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
`;

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
if change.error then record.error = change.error end
if change.inputRequests then
  if next(change.inputRequests) == nil then record.inputRequests = nil else record.inputRequests = change.inputRequests end
end
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return 1
`;

// Answers reach a task waiting for them: kept only for the keys it asked, taken
// off its pending questions; with none left it works again. cjson turns an empty
// object into an empty array, so empty maps are removed instead of stored.
const ANSWER = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local record = cjson.decode(raw)
if record.task.status ~= 'input_required' or type(record.inputRequests) ~= 'table' then return 0 end
local given = cjson.decode(ARGV[1])
local answers = record.answers
if type(answers) ~= 'table' then answers = {} end
for key, value in pairs(given) do
  if record.inputRequests[key] ~= nil then
    answers[key] = value
    record.inputRequests[key] = nil
  end
end
if next(answers) ~= nil then record.answers = answers end
if next(record.inputRequests) == nil then
  record.inputRequests = nil
  record.task.status = 'working'
end
record.task.lastUpdatedAt = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return 1
`;

const TAKE_ANSWERS = `
local raw = redis.call('GET', KEYS[1])
if not raw then return '{}' end
local record = cjson.decode(raw)
local answers = record.answers
if type(answers) ~= 'table' or next(answers) == nil then return '{}' end
record.answers = nil
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return cjson.encode(answers)
`;

export class RedisTaskRecords implements TaskRecords {
  constructor(private readonly client: RedisClient) {}

  async create(record: TaskRecord, ttlMs: number, limit: number): Promise<boolean> {
    const now = Date.now();
    const index = taskKeys.userTasks(record.userId);
    const taskId = record.task.taskId;
    const admitted = await this.client.eval(ADMIT, { keys: [index], arguments: [taskId, String(now), String(now + ttlMs), String(limit)] });
    if (Number(admitted) !== 1) return false;
    try {
      await this.client.set(taskKeys.task(taskId), JSON.stringify(record), { expiration: { type: 'PX', value: ttlMs } });
    } catch (error) {
      // Not stored: its place in the bound goes back (a failure here too leaves it until it expires).
      await this.client.zRem(index, taskId).catch(() => undefined);
      throw error;
    }
    return true;
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

  async answer(taskId: string, answers: Record<string, unknown>): Promise<boolean> {
    const applied = await this.client.eval(ANSWER, {
      keys: [taskKeys.task(taskId)],
      arguments: [JSON.stringify(answers), new Date().toISOString()],
    });
    return Number(applied) === 1;
  }

  async takeAnswers(taskId: string): Promise<Record<string, unknown>> {
    const raw = await this.client.eval(TAKE_ANSWERS, { keys: [taskKeys.task(taskId)], arguments: [] });
    return JSON.parse(String(raw)) as Record<string, unknown>;
  }

  listForUser(userId: string, offset: number, count: number): Promise<string[]> {
    // Members already past their expiry are skipped here and pruned by the next creation.
    return this.client.zRange(taskKeys.userTasks(userId), '+inf', `(${Date.now()}`, {
      BY: 'SCORE',
      REV: true,
      LIMIT: { offset, count },
    });
  }
}
