import type { Logger } from './observability/logger.js';
import { createStore, type Store, type StoreOptions } from './store/store.js';
import type { RedisTarget } from './store/redis-connections.js';
import { MemoryTaskRecords } from './tasks/memory-task-records.js';
import { RedisTaskRecords } from './tasks/redis-task-records.js';
import type { TaskRecords } from './tasks/task-records.js';

/** The store, and the task records kept in it (the store itself knows no domain). */
export interface Backend extends Store {
  tasks: TaskRecords;
}

export async function createBackend(redis: RedisTarget | undefined, options: StoreOptions, logger: Logger): Promise<Backend> {
  const store = await createStore(redis, options, logger);
  if (!store.redis) {
    const tasks = new MemoryTaskRecords();
    return { ...store, tasks, close: async () => (tasks.close(), store.close()) };
  }
  return { ...store, tasks: new RedisTaskRecords(store.redis) };
}
