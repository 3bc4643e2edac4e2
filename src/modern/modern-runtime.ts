import type { Config } from '../config.js';
import { Budget } from '../limits/budget.js';
import type { Logger } from '../observability/logger.js';
import type { MessageBus } from '../store/bus.js';
import { ChangeEvents } from './change-events.js';
import type { ModernServices } from './dispatch.js';
import { ListenStreams } from './listen.js';
import { RequestStateSeal } from './request-state.js';
import { ModernTasks } from './tasks-extension.js';
import type { CallObserver } from '../observability/metrics.js';
import type { InstanceTasks, TaskRunners } from '../tasks/user-task-store.js';

/** What the 2026-07-28 era keeps per instance: the state seal, the change events, the listen streams. */
export interface ModernRuntime extends ModernServices {
  listens: ListenStreams;
  /** Ends every listen stream with its result and leaves the change-event channel (drain). */
  stop(): Promise<void>;
}

export async function startModern(
  config: Config,
  bus: MessageBus,
  tasks: InstanceTasks,
  runners: TaskRunners,
  calls: CallObserver,
  logger: Logger,
): Promise<ModernRuntime> {
  const events = new ChangeEvents(bus, logger);
  await events.start();
  const { limits, modern } = config;
  const budget = new Budget(
    { limit: limits.listenStreamsPerUser, setting: 'MAX_LISTEN_STREAMS_PER_USER', scope: 'user', what: 'open listen streams for this user on this instance' },
    { limit: limits.listenStreamsPerInstance, setting: 'MAX_LISTEN_STREAMS_PER_INSTANCE', scope: 'instance', what: 'open listen streams on this instance' },
  );
  const listens = new ListenStreams(events, budget, config.resourceUpdateIntervalMs);
  return {
    seal: new RequestStateSeal(modern.requestStateKey, modern.requestStatePreviousKey, modern.requestStateTtlS),
    events,
    tasks: new ModernTasks(tasks, runners, events),
    calls,
    listens,
    async stop() {
      listens.finishAll();
      await events.stop().catch(() => undefined);
    },
  };
}
