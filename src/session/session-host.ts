import { randomUUID } from 'node:crypto';
import type { MessageBus } from '../routing/bus.js';
import type { EventStore } from '../routing/event-store.js';
import type { TaskRecords } from '../tasks/task-records.js';
import { channels } from '../routing/channels.js';
import { envelope } from '../routing/envelopes.js';
import type { Logger } from '../observability/logger.js';
import { OwnedSession } from './owned-session.js';
import type { SessionDirectory, SessionMeta, TransportKind } from './session-directory.js';

export interface SessionHostOptions {
  instanceId: string;
  idleTimeoutMs: number;
  resourceUpdateIntervalMs: number;
}

/**
 * The sessions this instance owns. One sweep timer for all of them (never one per
 * session) keeps busy sessions' keys alive and disposes of sessions whose owner
 * key expired or was deleted.
 */
export class SessionHost {
  private readonly sessions = new Map<string, OwnedSession>();
  private readonly sweepTimer: NodeJS.Timeout;
  private lastSweep = Date.now();

  constructor(
    private readonly directory: SessionDirectory,
    private readonly bus: MessageBus,
    private readonly events: EventStore,
    private readonly tasks: TaskRecords,
    private readonly logger: Logger,
    private readonly options: SessionHostOptions,
  ) {
    const sweepMs = Math.max(200, Math.min(options.idleTimeoutMs / 4, 30_000));
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

  /** Mints a session owned by this instance and starts its Server. */
  async create(userId: string, kind: TransportKind): Promise<{ sessionId: string; meta: SessionMeta }> {
    const sessionId = randomUUID();
    const meta: SessionMeta = { instanceId: this.options.instanceId, transport: kind, createdAt: Date.now() };
    const session = new OwnedSession(sessionId, userId, meta, {
      bus: this.bus,
      events: this.events,
      tasks: this.tasks,
      logger: this.logger,
      resourceUpdateIntervalMs: this.options.resourceUpdateIntervalMs,
      onShutdownRequest: (s, reason) => void this.dispose(s, reason),
    });
    this.sessions.set(sessionId, session);
    try {
      await session.start();
      await this.directory.create(sessionId, userId, meta);
    } catch (error) {
      await this.dispose(session, 'start failed');
      throw error;
    }
    this.logger.info('session created', { sessionId, kind });
    return { sessionId, meta };
  }

  /** Ends a session wherever it is owned: gone from the directory at once, its owner told to stop. */
  async terminate(sessionId: string, reason: string): Promise<void> {
    await this.directory.remove(sessionId);
    await this.bus.publish(channels.control(sessionId), JSON.stringify(envelope.shutdown(reason)));
  }

  /** Ends every session owned here (process shutdown). */
  async shutdown(reason: string): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.allSettled(
      [...this.sessions.values()].map(async (session) => {
        await this.directory.remove(session.sessionId);
        await this.dispose(session, reason);
      }),
    );
  }

  private async dispose(session: OwnedSession, reason: string): Promise<void> {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.sessions.delete(session.sessionId);
    this.directory.forget(session.sessionId);
    await session.dispose();
    this.logger.info('session ended', { sessionId: session.sessionId, reason });
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    const since = this.lastSweep;
    this.lastSweep = now;
    const busy: OwnedSession[] = [];
    const idle: OwnedSession[] = [];
    for (const session of this.sessions.values()) {
      if (session.inflightCount > 0 || session.lastActivity >= since) busy.push(session);
      else if (now - session.lastActivity >= this.options.idleTimeoutMs) idle.push(session);
    }
    // A running tool call or a pending elicitation is activity, even when no bytes move.
    if (busy.length > 0) await this.directory.refresh(busy);
    if (idle.length === 0) return;
    // The owner key also counts activity seen elsewhere (an open standalone stream
    // on another instance refreshes it); only a vanished key means the session expired.
    const alive = await this.directory.exists(idle.map((s) => s.sessionId));
    await Promise.all(idle.map((session, i) => (alive[i] ? undefined : this.dispose(session, 'idle timeout'))));
  }
}
