import { randomUUID } from 'node:crypto';
import type { CallObserver, SessionObserver } from '../../observability/metrics.js';
import type { Limits } from '../../config.js';
import { Budget } from '../../limits/budget.js';
import { LimitExceeded } from '../../limits/limit-exceeded.js';
import type { Logger } from '../../observability/logger.js';
import type { MessageBus } from '../../store/bus.js';
import type { EventStore } from '../../store/event-store.js';
import type { InstanceTasks } from '../../tasks/user-task-store.js';
import type { InstanceLease } from '../instance-lease.js';
import { OwnedSession, type OwnershipCheck } from './owned-session.js';
import { parseSession } from './persisted-session.js';
import type { SessionDirectory, SessionMeta, TransportKind } from '../session-directory.js';

/** How long an evicted session may finish a request that slipped in while it stopped listening. */
const EVICTION_SETTLE_MS = 30_000;

export interface SessionHostOptions {
  instanceId: string;
  idleTimeoutMs: number;
  /** A session idle this long leaves memory; its state stays in the store until it expires. */
  evictAfterMs: number;
  resourceUpdateIntervalMs: number;
  /** Where session events and tool calls are counted (metrics). */
  observer?: SessionObserver & CallObserver;
  /** The budgets a host enforces (docs/operations.md, "Limits"). */
  limits: Pick<
    Limits,
    | 'sessionsPerUser'
    | 'sessionsPerInstance'
    | 'inflightPerSession'
    | 'inflightPerUser'
    | 'inflightPerInstance'
    | 'subscriptionsPerUser'
    | 'subscriptionsPerInstance'
  >;
}

/**
 * Why a session could not be run here: it no longer exists ('gone'), or another
 * instance runs it or is taking it over right now ('busy': publish again shortly).
 */
export type Activation = { outcome: 'running'; instanceId: string } | { outcome: 'gone' } | { outcome: 'busy' };

/**
 * The sessions this instance runs. Sessions outlive instances: their state is in
 * the store, and a session nobody runs (its instance died, evicted it, or shut
 * down) is taken over by the instance where its next message arrives. One sweep
 * timer for all sessions (never one per session) keeps busy sessions' keys alive,
 * evicts idle ones from memory and forgets those that expired.
 */
export class SessionHost {
  private readonly sessions = new Map<string, OwnedSession>();
  private readonly activations = new Map<string, Promise<Activation>>();
  private readonly sweepTimer: NodeJS.Timeout;
  private lastSweep = Date.now();
  /** Requests in flight per user, over every session this instance runs, and in all. */
  private readonly inflight: Budget;
  /** Resource subscriptions per user, over every session this instance runs, and in all. */
  private readonly subscriptions: Budget;
  /**
   * Bumped whenever this instance may have been cut off long enough to be taken for dead (its
   * subscriber connection lost, its lease found revoked): each session confirms it is still
   * this instance's before it serves its next message (OwnedSession.confirm).
   */
  private ownershipEpoch = 0;
  private readonly ownership: OwnershipCheck;

  constructor(
    private readonly directory: SessionDirectory,
    private readonly bus: MessageBus,
    private readonly events: EventStore,
    private readonly tasks: InstanceTasks,
    private readonly lease: InstanceLease,
    private readonly logger: Logger,
    private readonly options: SessionHostOptions,
  ) {
    this.subscriptions = new Budget(
      { limit: options.limits.subscriptionsPerUser, setting: 'MAX_SUBSCRIPTIONS_PER_USER', scope: 'user', what: 'resource subscriptions for this user on this instance' },
      { limit: options.limits.subscriptionsPerInstance, setting: 'MAX_SUBSCRIPTIONS_PER_INSTANCE', scope: 'instance', what: 'resource subscriptions on this instance' },
    );
    this.inflight = new Budget(
      { limit: options.limits.inflightPerUser, setting: 'MAX_INFLIGHT_PER_USER', scope: 'user', what: 'requests in flight for this user on this instance' },
      { limit: options.limits.inflightPerInstance, setting: 'MAX_INFLIGHT_PER_INSTANCE', scope: 'instance', what: 'requests in flight on this instance' },
    );
    this.ownership = {
      epoch: () => this.ownershipEpoch,
      stillMine: async (sessionId) => {
        const holder = await directory.instanceOf(sessionId);
        return holder === null || holder === options.instanceId;
      },
      lost: (session) => this.lose(session),
    };
    // While the subscriber connection is away, another instance may take this one for dead (if
    // its heartbeat stops too) and take sessions over; node-redis subscribes them again on its
    // return, so each session confirms it is still this instance's before serving again.
    bus.watchSubscriber({ lost: () => void this.ownershipEpoch++, restored: () => this.confirmAll() });
    // Taken for dead (its lease revoked) and alive after all: its sessions confirm who runs them,
    // now and once more a heartbeat later (a claim checked the lease just before it was written
    // again, and may set the session's pointer just after the first look).
    lease.onRevoked = () => {
      const recheck = () => {
        this.ownershipEpoch++;
        this.confirmAll();
      };
      recheck();
      setTimeout(recheck, lease.heartbeatMs).unref();
    };
    const sweepMs = Math.max(200, Math.min(options.idleTimeoutMs / 4, options.evictAfterMs / 2, 30_000));
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((error: Error) => this.logger.warn('session sweep failed', { error: error.message }));
    }, sweepMs);
    this.sweepTimer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  has(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  /** The session, when this instance runs it for this user. */
  owned(sessionId: string, userId: string): OwnedSession | undefined {
    const session = this.sessions.get(sessionId);
    return session?.userId === userId ? session : undefined;
  }

  /**
   * Mints a session run by this instance and starts its Server. Throws
   * LimitExceeded when the instance holds its bound of sessions, or the user
   * has its bound of live sessions on all instances.
   */
  async create(userId: string, kind: TransportKind): Promise<{ sessionId: string; meta: SessionMeta }> {
    const { sessionsPerInstance, sessionsPerUser } = this.options.limits;
    if (this.instanceFull()) {
      throw new LimitExceeded('MAX_SESSIONS_PER_INSTANCE', sessionsPerInstance, 'instance', 'sessions held by this instance');
    }
    const sessionId = randomUUID();
    if (!(await this.directory.admit(userId, sessionId, sessionsPerUser))) {
      // A session frees its place when it is deleted or expires: no sooner than a minute is worth trying.
      throw new LimitExceeded('MAX_SESSIONS_PER_USER', sessionsPerUser, 'user', 'live sessions for this user (DELETE one, or let one expire)', 60);
    }
    const meta: SessionMeta = { instanceId: this.options.instanceId, transport: kind, createdAt: Date.now() };
    const session = this.newSession(sessionId, userId, meta);
    this.sessions.set(sessionId, session);
    try {
      await session.start();
      await this.directory.register([session.record()]);
    } catch (error) {
      await this.dispose(session, 'start failed');
      await this.directory.remove(sessionId, userId).catch(() => undefined);
      throw error;
    }
    this.logger.info('session created', { sessionId, kind });
    this.options.observer?.created();
    return { sessionId, meta };
  }

  /**
   * Runs a Streamable HTTP session here that no instance serves: takes it over
   * (exactly one instance wins) and rebuilds its Server from the stored state.
   * Concurrent calls for one session share one attempt.
   */
  activate(sessionId: string, userId: string): Promise<Activation> {
    if (this.sessions.has(sessionId)) return Promise.resolve({ outcome: 'running', instanceId: this.options.instanceId });
    let attempt = this.activations.get(sessionId);
    if (!attempt) {
      attempt = this.takeOver(sessionId, userId).finally(() => this.activations.delete(sessionId));
      this.activations.set(sessionId, attempt);
    }
    return attempt;
  }

  /**
   * Hands every session running here over to the store, for other instances to
   * take over at once (shutdown); requests in flight get until the deadline to
   * finish. Legacy SSE sessions cannot move: they end.
   */
  async releaseAll(reason: string, deadline: number): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.sessions.values()].map((session) => this.release(session, reason, deadline)));
  }

  /**
   * Writes every running session's keys again (after Redis came back without them), except
   * for sessions another instance took over while this one was cut off: those it leaves.
   */
  async reregister(): Promise<void> {
    const sessions = [...this.sessions.values()];
    if (sessions.length === 0) return;
    const kept = await this.directory.restore(sessions.map((session) => session.record()));
    sessions.forEach((session, i) => kept[i] || this.lose(session));
  }

  /** Every session confirms it is still this instance's (those with no traffic too: their timers write to the store). */
  private confirmAll(): void {
    for (const session of this.sessions.values()) void session.confirm();
  }

  /**
   * Another instance runs the session now (it took this one for dead): this one leaves it
   * without a word to the store (the state and the pointer are the other's), and its requests
   * still in flight here are told to retry.
   */
  private lose(session: OwnedSession): void {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.sessions.delete(session.sessionId);
    this.logger.warn('session taken over by another instance while this one was cut off: left to it', { sessionId: session.sessionId });
    session.handOver();
    void session.dispose('release');
  }

  private instanceFull(): boolean {
    const bound = this.options.limits.sessionsPerInstance;
    return bound > 0 && this.sessions.size >= bound;
  }

  private newSession(sessionId: string, userId: string, meta: SessionMeta, restored?: ConstructorParameters<typeof OwnedSession>[4]) {
    return new OwnedSession(
      sessionId,
      userId,
      meta,
      {
        bus: this.bus,
        events: this.events,
        tasks: this.tasks,
        lease: this.lease,
        directory: this.directory,
        logger: this.logger,
        resourceUpdateIntervalMs: this.options.resourceUpdateIntervalMs,
        inflight: { perSession: this.options.limits.inflightPerSession, perUser: this.inflight },
        subscriptions: this.subscriptions,
        onShutdownRequest: (s, reason) => void this.dispose(s, reason),
        ownership: this.ownership,
        calls: this.options.observer,
      },
      restored,
    );
  }

  private async takeOver(sessionId: string, userId: string): Promise<Activation> {
    const me = this.options.instanceId;
    const [owner, meta, rawState] = await Promise.all([
      this.directory.ownerOf(sessionId),
      this.directory.meta(sessionId),
      this.directory.loadState(sessionId),
    ]);
    if (owner !== userId || !meta || meta.transport !== 'shttp') return { outcome: 'gone' };
    const state = parseSession(rawState);
    if (!state) return { outcome: 'gone' };
    // Its message reached nobody: judge its instance now (up to two heartbeats, see InstanceLease.isDead)
    // rather than from a cached lease check, so that a killed owner's session moves within seconds.
    if (meta.instanceId !== '' && meta.instanceId !== me && !(await this.lease.isDead(meta.instanceId, { wait: true }))) {
      // Its instance lives and will answer (it is resubscribing, or just took it over).
      return { outcome: 'busy' };
    }
    // Full: another instance may take it (until then the client is told to retry).
    if (this.instanceFull()) return { outcome: 'busy' };
    if (!(await this.directory.claim(sessionId, meta.instanceId, me))) return { outcome: 'busy' };
    const [lastPosition, listening] = await Promise.all([
      this.events.lastPosition(sessionId),
      this.directory.hasStandaloneStream(sessionId),
    ]);
    const session = this.newSession(sessionId, userId, { ...meta, instanceId: me }, { ...state, lastPosition, listening });
    this.sessions.set(sessionId, session);
    try {
      await session.start();
    } catch (error) {
      this.sessions.delete(sessionId);
      await session.dispose('release');
      await this.directory.release(sessionId, me).catch(() => false);
      throw error;
    }
    this.logger.info('session taken over', { sessionId, from: meta.instanceId || 'nobody' });
    this.options.observer?.tookOver();
    return { outcome: 'running', instanceId: me };
  }

  /**
   * Hands a session over: no new messages reach it here (confirmed by Redis), its
   * state is saved, its pointer released — so the next message, on any instance,
   * takes it over at once — and only then do requests still in flight here finish
   * (until the deadline), before the Server goes.
   */
  private async release(session: OwnedSession, reason: string, deadline: number): Promise<void> {
    if (this.sessions.get(session.sessionId) !== session) return;
    if (session.meta.transport === 'sse') {
      await this.directory.remove(session.sessionId, session.userId).catch(() => undefined);
      await this.dispose(session, reason);
      return;
    }
    await session.stopIntake();
    this.sessions.delete(session.sessionId);
    // State first, then the pointer: whoever takes over must find the latest state (and until
    // when requests may still finish here).
    session.leaveBusyUntil(deadline);
    await this.directory.saveState(session.sessionId, session.record().state).catch(() => undefined);
    await this.directory.release(session.sessionId, this.options.instanceId).catch(() => false);
    session.handOver();
    await session.settled(deadline);
    await session.dispose('release');
    this.logger.info('session released', { sessionId: session.sessionId, reason });
  }

  private async dispose(session: OwnedSession, reason: string): Promise<void> {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.sessions.delete(session.sessionId);
    this.directory.forget(session.sessionId);
    await session.dispose('terminate');
    this.logger.info('session ended', { sessionId: session.sessionId, reason });
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    const since = this.lastSweep;
    this.lastSweep = now;
    const busy: OwnedSession[] = [];
    const idle: OwnedSession[] = [];
    const evictable: OwnedSession[] = [];
    for (const session of this.sessions.values()) {
      const quiet = now - session.lastActivity;
      if (session.inflightCount > 0 || session.lastActivity >= since) busy.push(session);
      else if (quiet >= this.options.idleTimeoutMs) idle.push(session);
      // An open standalone stream does not pin a quiet session: its holder's lease
      // tells whoever rebuilds the session that someone listens.
      else if (quiet >= this.options.evictAfterMs && session.meta.transport === 'shttp') evictable.push(session);
    }
    // A running tool call or a pending elicitation is activity, even when no bytes move.
    if (busy.length > 0) await this.directory.refresh(busy.map((s) => s.record()));
    // Idle sessions leave memory; the next message, on any instance, rebuilds them.
    const deadline = now + EVICTION_SETTLE_MS;
    for (const _ of evictable) this.options.observer?.evicted();
    await Promise.allSettled(evictable.map((session) => this.release(session, 'idle: evicted from memory', deadline)));
    if (idle.length === 0) return;
    // The owner key also counts activity seen elsewhere (an open standalone stream
    // on another instance refreshes it); only a vanished key means the session expired.
    const alive = await this.directory.exists(idle.map((s) => s.sessionId));
    await Promise.all(idle.map((session, i) => (alive[i] ? undefined : this.dispose(session, 'idle timeout'))));
  }
}
