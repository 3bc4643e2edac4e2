import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { MessageBus } from '../store/bus.js';
import { channels } from '../protocol/channels.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import type { TaskRecords } from './task-records.js';

/** What travels on mcp:tasks:cancelled: the id of a task that was just cancelled. */
const CancelledSchema = z.object({ v: z.literal(1), type: z.literal('cancelled'), taskId: z.string().regex(/^[0-9a-f]{32}$/) });
/** What travels on mcp:tasks:answered: the id of a task whose questions were just answered. */
const AnsweredSchema = z.object({ v: z.literal(1), type: z.literal('answered'), taskId: z.string().regex(/^[0-9a-f]{32}$/) });

const TASK_CHANNELS = [channels.tasksCancelled, channels.tasksAnswered];

/** One task running on this instance. */
export interface TaskRun {
  /** Aborts when the task is cancelled (on any instance), when its record expires, or when the instance stops. */
  readonly signal: AbortSignal;
  /** The tool returned: the task no longer runs here. */
  end(): void;
  /** Resolves at the next answer delivered to the task (tasks/update on any instance), or when it is aborted. */
  answered(): Promise<void>;
}

interface Entry {
  controller: AbortController;
  expiresAt: number;
  /** Wakes the task waiting for answers, if it waits. */
  wake?: () => void;
}

/**
 * The tasks running on this instance, and how a cancel reaches them: whichever
 * instance stores a task's `cancelled` status publishes its id on one channel
 * for all tasks, and the instance running it aborts the tool at once. No timer
 * or poll per task: one subscription per instance, taken when its first task
 * starts (an instance that never runs one listens to nothing) and kept until
 * the instance stops; one timer for the earliest expiry among running tasks.
 */
export class TaskRuns {
  private readonly running = new Map<string, Entry>();
  /** Places held by tasks being created (see reserve). */
  private starting = 0;
  private listening: Promise<void> | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;
  private stopped = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly records: TaskRecords,
    private readonly logger: Logger,
    /** Tasks running on this instance at once (MAX_RUNNING_TASKS_PER_INSTANCE); 0 = no bound. */
    private readonly maxRunning = 0,
  ) {
    // Cancels published while the subscriber was away were lost: ask the store instead, once.
    bus.watchSubscriber({ lost: () => undefined, restored: () => void this.recheck() });
  }

  /** Tasks running here (those already told to stop included, until their tool returns). */
  get size(): number {
    return this.running.size;
  }

  has(taskId: string): boolean {
    return this.running.has(taskId);
  }

  /**
   * Holds a place for a task about to start (its record is being written), or
   * throws LimitExceeded when the instance runs its bound of tasks. Taken at
   * once, so calls racing in cannot all pass; given back once the task started
   * (then it counts as running) or failed to.
   */
  reserve(): () => void {
    if (this.maxRunning > 0 && this.running.size + this.starting >= this.maxRunning) {
      throw new LimitExceeded('MAX_RUNNING_TASKS_PER_INSTANCE', this.maxRunning, 'instance', 'tasks running on this instance');
    }
    this.starting += 1;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.starting -= 1;
    };
  }

  /**
   * Registers a task about to run here until `expiresAt` (when its record
   * expires: nobody could collect its result after that). Resolves once a
   * cancel published anywhere reaches this instance.
   */
  async start(taskId: string, expiresAt: number): Promise<TaskRun> {
    const controller = new AbortController();
    const end = () => {
      if (this.running.get(taskId)?.controller !== controller) return;
      this.running.delete(taskId);
      if (this.running.size === 0) this.disarm();
    };
    if (!this.stopped) await this.listen();
    const entry: Entry = { controller, expiresAt };
    const answered = () =>
      new Promise<void>((resolve) => {
        if (controller.signal.aborted) return resolve();
        entry.wake = resolve;
        controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    if (this.stopped) {
      controller.abort();
      return { signal: controller.signal, end, answered };
    }
    this.running.set(taskId, entry);
    if (expiresAt < this.expiryAt) this.arm(expiresAt);
    return { signal: controller.signal, end, answered };
  }

  /** A task's questions were answered (the record holds the answers): wakes it here, or tells the other instances. */
  async answeredElsewhere(taskId: string): Promise<void> {
    if (!this.wake(taskId)) await this.announce(channels.tasksAnswered, 'answered', taskId);
  }

  private wake(taskId: string): boolean {
    const entry = this.running.get(taskId);
    const wake = entry?.wake;
    if (entry) entry.wake = undefined;
    wake?.();
    return entry !== undefined;
  }

  /**
   * A task's `cancelled` status was stored: stops it here if it runs here,
   * else tells the other instances. A failed publish is only logged: the
   * status stands, and the tool's result will be refused when it ends.
   */
  async cancelled(taskId: string): Promise<void> {
    if (!this.abort(taskId)) await this.announce(channels.tasksCancelled, 'cancelled', taskId);
  }

  /** Tells the instance running a task (whichever it is); a failed publish is only logged. */
  private async announce(channel: string, type: 'answered' | 'cancelled', taskId: string): Promise<void> {
    try {
      await this.bus.publish(channel, JSON.stringify({ v: 1, type, taskId }));
    } catch (error) {
      this.logger.warn(`could not announce a task ${type === 'answered' ? 'answer' : 'cancellation'}`, { taskId, error: (error as Error).message });
    }
  }

  /** The instance stops: its tasks cannot report any more, so they stop too; the subscription goes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    for (const { controller } of this.running.values()) controller.abort();
    this.running.clear();
    const listening = this.listening;
    this.listening = undefined;
    if (listening) {
      await listening.then(
        () => this.bus.unsubscribe(TASK_CHANNELS, this.receive),
        () => undefined,
      );
    }
  }

  private listen(): Promise<void> {
    this.listening ??= this.bus.subscribe(TASK_CHANNELS, this.receive).catch((error: unknown) => {
      this.listening = undefined; // the next task tries again
      throw error;
    });
    return this.listening;
  }

  private readonly receive = (raw: string, channel: string): void => {
    const schema = channel === channels.tasksAnswered ? AnsweredSchema : CancelledSchema;
    let parsed: ReturnType<typeof schema.safeParse>;
    try {
      parsed = schema.safeParse(JSON.parse(raw));
    } catch {
      parsed = schema.safeParse(undefined);
    }
    if (!parsed.success) {
      this.logger.warn('dropped a malformed task message', { channel });
      return;
    }
    // A task that runs elsewhere, or already ended, is none of this instance's business.
    if (parsed.data.type === 'answered') this.wake(parsed.data.taskId);
    else this.abort(parsed.data.taskId);
  };

  /** Whether the task runs here (it is told to stop). */
  private abort(taskId: string): boolean {
    const entry = this.running.get(taskId);
    entry?.controller.abort();
    return entry !== undefined;
  }

  private arm(at: number): void {
    clearTimeout(this.expiryTimer);
    this.expiryAt = at;
    this.expiryTimer = setTimeout(this.expire, Math.max(0, at - Date.now()));
    this.expiryTimer.unref();
  }

  private disarm(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryAt = Infinity;
  }

  /** Stops the tasks whose record expired, and waits for the next expiry. */
  private readonly expire = (): void => {
    this.disarm();
    const now = Date.now();
    let next = Infinity;
    for (const { controller, expiresAt } of this.running.values()) {
      // Already told to stop: waiting for its tool to return is not a reason to wake up again.
      if (controller.signal.aborted) continue;
      if (expiresAt <= now) controller.abort();
      else next = Math.min(next, expiresAt);
    }
    if (next < Infinity) this.arm(next);
  };

  private async recheck(): Promise<void> {
    const live = [...this.running].filter(([, { controller }]) => !controller.signal.aborted);
    await Promise.all(
      live.map(async ([taskId, { controller }]) => {
        try {
          const record = await this.records.get(taskId);
          if (!record || record.task.status === 'cancelled') controller.abort();
        } catch {
          // Redis failed again: the next reconnection asks again.
        }
      }),
    );
  }
}
