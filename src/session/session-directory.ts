import { keys } from '../routing/channels.js';
import type { EventStore } from '../routing/event-store.js';
import type { KeyValueStore } from '../routing/kv.js';

export type TransportKind = 'shttp' | 'sse';

/** What any instance needs to know about a session it does not own. */
export interface SessionMeta {
  instanceId: string;
  transport: TransportKind;
  createdAt: number;
}

const META_CACHE_LIMIT = 10_000;

/**
 * The shared record of which sessions exist, whose they are and which instance
 * runs them. The owner key is the source of truth for existence: when it is gone
 * (deleted or expired), the session is gone on every instance.
 */
export class SessionDirectory {
  // Meta never changes during a session's life, so instances cache it: a request
  // then costs one command (GETEX of the owner key), not two.
  private readonly metaCache = new Map<string, SessionMeta>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly events: EventStore,
    private readonly idleTtlMs: number,
  ) {}

  async create(sessionId: string, userId: string, meta: SessionMeta): Promise<void> {
    await Promise.all([
      this.kv.set(keys.sessionOwner(sessionId), userId, this.idleTtlMs),
      this.kv.set(keys.sessionMeta(sessionId), JSON.stringify(meta), this.idleTtlMs),
    ]);
  }

  /** The owner's user id (refreshing the session's idle TTL), or null when there is no such session. */
  ownerOf(sessionId: string): Promise<string | null> {
    return this.kv.getAndTouch(keys.sessionOwner(sessionId), this.idleTtlMs);
  }

  async meta(sessionId: string): Promise<SessionMeta | undefined> {
    const cached = this.metaCache.get(sessionId);
    if (cached) return cached;
    const raw = await this.kv.get(keys.sessionMeta(sessionId));
    const meta = raw ? parseMeta(raw) : undefined;
    if (meta) {
      if (this.metaCache.size >= META_CACHE_LIMIT) this.metaCache.delete(this.metaCache.keys().next().value!);
      this.metaCache.set(sessionId, meta);
    }
    return meta;
  }

  /**
   * The owner's word that its sessions are alive and busy: their keys are written
   * anew (not merely touched), so that a key which lapsed just as its session got
   * busy again comes back.
   */
  async refresh(sessions: Array<{ sessionId: string; userId: string; meta: SessionMeta }>): Promise<void> {
    await Promise.all([
      this.kv.setMany(
        sessions.flatMap(({ sessionId, userId, meta }) => [
          [keys.sessionOwner(sessionId), userId] as [string, string],
          [keys.sessionMeta(sessionId), JSON.stringify(meta)] as [string, string],
        ]),
        this.idleTtlMs,
      ),
      this.events.touch(sessions.map((s) => s.sessionId)),
    ]);
  }

  /** Keeps sessions alive that show activity the owner key alone does not see. */
  async touch(sessionIds: string[]): Promise<void> {
    await Promise.all([
      this.kv.touch(
        sessionIds.flatMap((id) => [keys.sessionOwner(id), keys.sessionMeta(id)]),
        this.idleTtlMs,
      ),
      this.events.touch(sessionIds),
    ]);
  }

  async exists(sessionIds: string[]): Promise<boolean[]> {
    return this.kv.existing(sessionIds.map((id) => keys.sessionOwner(id)));
  }

  async remove(sessionId: string): Promise<void> {
    this.metaCache.delete(sessionId);
    await Promise.all([
      this.kv.del([keys.sessionOwner(sessionId), keys.sessionMeta(sessionId), keys.standaloneHolder(sessionId)]),
      this.events.remove(sessionId),
    ]);
  }

  forget(sessionId: string): void {
    this.metaCache.delete(sessionId);
  }
}

function parseMeta(raw: string): SessionMeta | undefined {
  try {
    const value = JSON.parse(raw) as Partial<SessionMeta>;
    if (typeof value.instanceId !== 'string' || (value.transport !== 'shttp' && value.transport !== 'sse')) return undefined;
    return { instanceId: value.instanceId, transport: value.transport, createdAt: Number(value.createdAt) || 0 };
  } catch {
    return undefined;
  }
}
