import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallObserver } from '../../observability/metrics.js';
import type { Budget } from '../../limits/budget.js';
import { createEverythingServer } from '../../mcp/everything-server.js';
import { initialFeatureState, type SessionFeatureState, type StandaloneListener } from '../../mcp/session-features.js';
import { attachTaskRuns } from '../../mcp/tasks.js';
import type { Logger } from '../../observability/logger.js';
import type { MessageBus } from '../../store/bus.js';
import { channels } from '../../protocol/channels.js';
import type { EventStore } from '../../store/event-store.js';
import { ControlEnvelopeSchema, decode, ToServerEnvelopeSchema } from '../../protocol/envelopes.js';
import { UserTaskStore, type InstanceTasks, type TaskRunners } from '../../tasks/user-task-store.js';
import { OwnerTransport } from './owner-transport.js';
import { serializeSession, type InitParams } from './persisted-session.js';
import type { SessionDirectory, SessionMeta, SessionRecord } from '../session-directory.js';

/**
 * Whether this instance still runs its sessions, after it may have been cut off from Redis long
 * enough for another instance to take it for dead and take sessions over (SessionHost).
 */
export interface OwnershipCheck {
  /** Bumped each time this instance may have been cut off: a session confirms it is still its own before serving again. */
  epoch(): number;
  /** Whether the store still names this instance as running the session (or lost the session's keys, which it writes back). */
  stillMine(sessionId: string): Promise<boolean>;
  /** The session was taken over meanwhile: this instance leaves it, without touching the store. */
  lost(session: OwnedSession): void;
}

/** How long a session holds its messages while it cannot confirm it is still its instance's (Redis unreachable): then it serves them. */
const CONFIRM_GIVE_UP_MS = 5000;
/** Messages held at most while confirming; past them the session serves what it holds. */
const MAX_HELD = 1000;

export interface OwnedSessionDeps {
  bus: MessageBus;
  events: EventStore;
  tasks: InstanceTasks;
  /** Instance liveness: a task whose instance died is failed when read. */
  lease: TaskRunners;
  directory: SessionDirectory;
  logger: Logger;
  resourceUpdateIntervalMs: number;
  /** Requests in flight: the bound per session, and the budget per user shared by the instance's sessions. */
  inflight: { perSession: number; perUser: Budget };
  /** Resource subscriptions per user and in all, shared by the instance's sessions. */
  subscriptions: Budget;
  /** Called when a shutdown for this session arrives on its control channel. */
  onShutdownRequest: (session: OwnedSession, reason: string) => void;
  ownership: OwnershipCheck;
  /** Where tool calls are counted (metrics). */
  calls?: CallObserver;
}

/** A session rebuilt from the store: what initialize negotiated, its feature state, where its log ends. */
export interface RestoredSession {
  init?: InitParams;
  features: SessionFeatureState;
  lastPosition: string;
  /** Whether a standalone stream of the session is open somewhere (its holder's lease exists). */
  listening: boolean;
  /** Requests of the session may still be finishing on the instance that handed it over, until then (ms). */
  busyUntil?: number;
}

/**
 * A session on the instance running it: the SDK Server, its transport, and the
 * subscriptions that feed it. Holds no timers of its own; the host's sweep
 * decides when it has been idle too long. Its state is written to the store as
 * it changes, so that any instance can rebuild it.
 */
export class OwnedSession implements StandaloneListener {
  lastActivity = Date.now();
  /** Set when the session is handed over with requests still in flight here: until when they may run. */
  private leavesBusyUntil: number | undefined;
  private server: Server | undefined;
  private disposeFeatures: (() => void) | undefined;
  private readonly transport: OwnerTransport;
  private readonly features: SessionFeatureState;
  private init: InitParams | undefined;
  private standaloneStreams = 0;
  private readonly listenerCallbacks: Array<() => void> = [];
  private disposed = false;
  private intakeStopped = false;
  /** Once handed over, another instance owns the stored state: this one no longer writes it. */
  private handedOver = false;
  /** The ownership epoch in which the session last confirmed it is this instance's (see OwnershipCheck). */
  private confirmedEpoch: number;
  /** Messages that arrived while the session confirms it is still this instance's, in order. */
  private held: Array<[raw: string, channel: string]> | undefined;
  private confirming = false;

  constructor(
    readonly sessionId: string,
    readonly userId: string,
    readonly meta: SessionMeta,
    private readonly deps: OwnedSessionDeps,
    private readonly restored?: RestoredSession,
  ) {
    const events = meta.transport === 'shttp' ? deps.events : undefined;
    const inflight = { perSession: deps.inflight.perSession, acquire: () => deps.inflight.perUser.acquire(userId) };
    this.transport = new OwnerTransport(sessionId, meta.transport, deps.bus, events, this.markActive, inflight, restored?.lastPosition);
    this.transport.onInitialize = (params) => {
      this.init = params;
      this.persist();
    };
    this.confirmedEpoch = deps.ownership.epoch();
    this.features = restored?.features ?? initialFeatureState();
    this.init = restored?.init;
    this.standaloneStreams = restored?.listening ? 1 : 0;
  }

  get inflightCount(): number {
    return this.transport.inflightCount;
  }

  /** What the session is doing here now (the "my sessions" page). */
  holding(): { inFlight: number; standaloneOpen: boolean; lastActivity: number } {
    return { inFlight: this.transport.inflightCount, standaloneOpen: this.standaloneStreams > 0, lastActivity: this.lastActivity };
  }

  /** The session as the store keeps it. */
  record(): SessionRecord {
    return {
      sessionId: this.sessionId,
      userId: this.userId,
      meta: this.meta,
      state: serializeSession(this.init, this.features, this.leavesBusyUntil),
    };
  }

  async start(): Promise<void> {
    const { server, dispose } = createEverythingServer({
      sessionId: this.sessionId,
      state: this.features,
      listener: this,
      updateIntervalMs: this.deps.resourceUpdateIntervalMs,
      taskStore: new UserTaskStore(this.deps.tasks, this.userId, this.sessionId, this.deps.lease),
      onStateChange: () => this.persist(),
      calls: this.deps.calls,
      subscriptionBudget: {
        admit: () => this.deps.subscriptions.acquire(this.userId),
        hold: () => this.deps.subscriptions.hold(this.userId),
      },
    });
    this.server = server;
    this.disposeFeatures = dispose;
    attachTaskRuns(server, this.deps.tasks.runs);
    server.onerror = (error) => this.deps.logger.debug('mcp server error', { sessionId: this.sessionId, error: error.message });
    await server.connect(this.transport);
    if (this.restored?.init) await this.transport.rehydrate(this.restored.init);
    await this.deps.bus.subscribe([channels.toServer(this.sessionId), channels.control(this.sessionId)], this.onBusMessage);
  }

  /**
   * Stops taking messages: resolves once Redis confirmed the unsubscribe. Messages
   * that arrive meanwhile are still served, so none that counted as delivered is lost.
   */
  async stopIntake(): Promise<void> {
    if (this.intakeStopped) return;
    this.intakeStopped = true;
    await this.deps.bus
      .unsubscribe([channels.toServer(this.sessionId), channels.control(this.sessionId)], this.onBusMessage)
      .catch(() => undefined);
  }

  /** Waits (until the deadline at most) for the requests being served to be answered. */
  async settled(deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([this.transport.idle(), late]);
    clearTimeout(timer);
  }

  /** The session is being handed over: requests still in flight here may run until `deadline`. */
  leaveBusyUntil(deadline: number): void {
    if (this.transport.inflightCount > 0) this.leavesBusyUntil = deadline;
  }

  /**
   * From now on the stored state belongs to whoever takes the session over, and
   * so do its periodic notifications: they stop here, so that two instances do
   * not write the session's log at once (requests still in flight here finish).
   */
  handOver(): void {
    this.handedOver = true;
    this.disposeFeatures?.();
    this.disposeFeatures = undefined;
  }

  /**
   * Stops the Server and releases the subscriptions. 'terminate' ends the session
   * for good (waiting streams get an error, every instance hears it ended);
   * 'release' hands it over: it lives on in the store, to be rebuilt wherever its
   * next message arrives (requests still waiting are told to retry).
   */
  async dispose(mode: 'terminate' | 'release' = 'terminate'): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeFeatures?.();
    this.disposeFeatures = undefined;
    await this.stopIntake();
    this.transport.closeMode = mode;
    await this.server?.close().catch(() => undefined);
  }

  isOpen(): boolean {
    // Legacy SSE sessions exist only while their stream is open.
    return this.meta.transport === 'sse' || this.standaloneStreams > 0;
  }

  onChange(callback: () => void): void {
    this.listenerCallbacks.push(callback);
  }

  private persist(): void {
    if (this.handedOver) return;
    this.deps.directory
      .saveState(this.sessionId, this.record().state)
      .catch((error: Error) => this.deps.logger.warn('could not save session state', { sessionId: this.sessionId, error: error.message }));
  }

  private readonly markActive = (): void => {
    this.lastActivity = Date.now();
  };

  /**
   * Asks the store whether this instance still runs the session, holding the messages that
   * arrive meanwhile: serves them once confirmed; leaves the session (dropping them: the
   * instance that took it over heard them too) when another instance runs it now.
   */
  async confirm(): Promise<void> {
    this.held ??= [];
    if (this.confirming) return;
    this.confirming = true;
    const started = Date.now();
    try {
      for (let attempt = 0; !this.disposed; attempt++) {
        const epoch = this.deps.ownership.epoch();
        let mine: boolean;
        try {
          mine = await this.deps.ownership.stillMine(this.sessionId);
        } catch (error) {
          if (Date.now() - started < CONFIRM_GIVE_UP_MS && this.held.length < MAX_HELD) {
            await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
            continue;
          }
          // As before this check existed: serve rather than hold messages indefinitely.
          this.deps.logger.warn('could not confirm who runs the session: serving it', { sessionId: this.sessionId, error: (error as Error).message });
          mine = true;
        }
        if (this.disposed) return;
        // Released by this instance itself (evicted, drained): what arrived before the unsubscribe is
        // still served here, as stopIntake promises; only a session another instance runs is left.
        if (!mine && !this.intakeStopped) {
          this.held = undefined;
          this.deps.ownership.lost(this);
          return;
        }
        if (epoch !== this.deps.ownership.epoch()) continue; // cut off again meanwhile: ask again
        this.confirmedEpoch = epoch;
        const held = this.held;
        this.held = undefined;
        for (const [raw, channel] of held) this.handle(raw, channel);
        return;
      }
    } finally {
      this.confirming = false;
    }
  }

  private readonly onBusMessage = (raw: string, channel: string): void => {
    if (this.held) {
      this.held.push([raw, channel]);
      return;
    }
    if (this.confirmedEpoch !== this.deps.ownership.epoch()) {
      // Perhaps taken for dead and taken over while cut off: confirm before serving.
      this.held = [[raw, channel]];
      void this.confirm();
      return;
    }
    this.handle(raw, channel);
  };

  private handle(raw: string, channel: string): void {
    if (channel === channels.control(this.sessionId)) {
      const control = decode(ControlEnvelopeSchema, raw);
      if (control?.type === 'shutdown') {
        this.transport.mirror('control', channel, raw);
        this.deps.onShutdownRequest(this, control.reason);
      } else if (control?.type === 'tap') this.transport.tap(control.untilMs);
      return;
    }
    this.transport.mirror('client-to-server', channel, raw);
    const incoming = decode(ToServerEnvelopeSchema, raw);
    if (!incoming) {
      this.deps.logger.warn('dropped malformed envelope', { sessionId: this.sessionId, channel });
      return;
    }
    if (incoming.principal.userId !== this.userId) {
      // The edge checks ownership before publishing; this is the second lock on the door.
      this.deps.logger.warn('dropped envelope from another user', { sessionId: this.sessionId });
      return;
    }
    if (incoming.type === 'probe') {
      // Handed over with requests still in flight (a drain), the session may have some finishing
      // on the instance that ran it before: until they must be done, only the deadline can tell.
      if (Date.now() >= (this.restored?.busyUntil ?? 0)) this.transport.probe(incoming.streamKey, incoming.delivery);
      return;
    }
    if (incoming.type === 'standalone') {
      this.markActive();
      this.standaloneStreams = Math.max(0, this.standaloneStreams + (incoming.state === 'open' ? 1 : -1));
      for (const callback of this.listenerCallbacks) callback();
      return;
    }
    this.transport.receive(incoming);
  }
}
