import { keys } from '../protocol/channels.js';
import type { EventStore } from '../store/event-store.js';
import type { KeyValueStore } from '../store/kv.js';

export type TransportKind = 'shttp' | 'sse';

/** What any instance needs to know about a session it does not run. */
export interface SessionMeta {
  /** The instance running the session, as last seen ('' while none does). */
  instanceId: string;
  transport: TransportKind;
  createdAt: number;
}

/** A session as the store keeps it for any instance to register or rebuild. */
export interface SessionRecord {
  sessionId: string;
  userId: string;
  meta: SessionMeta;
  /** JSON of the session's persisted state (see OwnedSession). */
  state: string;
}

/** A session as read back from the store. */
export interface StoredSession {
  sessionId: string;
  userId: string;
  meta: SessionMeta;
  /** JSON of the persisted state, when there is one. */
  state: string | null;
  /** When the session was last active (ms since epoch), as its idle TTL tells. */
  lastActivity: number;
}

const META_CACHE_LIMIT = 10_000;

/**
 * The shared record of which sessions exist, whose they are, which instance runs
 * them and what it takes to rebuild them. The owner key is the source of truth
 * for existence: when it is gone (deleted or expired), the session is gone on
 * every instance. The instance key says who runs the session; it changes hands
 * only through claim() (the holder died, or released it).
 */
export class SessionDirectory {
  // The transport and creation time never change, so instances cache them.
  private readonly metaCache = new Map<string, Omit<SessionMeta, 'instanceId'>>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly events: EventStore,
    private readonly idleTtlMs: number,
  ) {}

  /** Writes every key of new sessions this instance runs. */
  async register(records: SessionRecord[]): Promise<void> {
    await this.kv.setMany(records.flatMap(entriesOf), this.idleTtlMs);
  }

  /**
   * Writes the keys of sessions this instance runs again (after Redis came back, perhaps without
   * them), each session's in one step unless its instance key names another instance (which took
   * it over meanwhile) or is '' (released by one that did): false for those, whose keys stay as they are.
   */
  restore(records: SessionRecord[]): Promise<boolean[]> {
    return Promise.all(
      records.map((record) => this.kv.setManyIfHeld(keys.sessionInstance(record.sessionId), record.meta.instanceId, entriesOf(record), this.idleTtlMs)),
    );
  }

  /**
   * Counts a new session against its user's bound, all instances together:
   * false when the user has `limit` live sessions already (0 = no bound).
   */
  admit(userId: string, sessionId: string, limit: number): Promise<boolean> {
    return this.kv.addBounded(keys.userSessions(userId), sessionId, Date.now() + this.idleTtlMs, limit, this.idleTtlMs);
  }

  /** Ids of the user's live sessions (at most `max`, the latest to expire first). */
  sessionsOf(userId: string, max: number): Promise<string[]> {
    return this.kv.boundedMembers(keys.userSessions(userId), max);
  }

  /**
   * A session as stored, read without touching it (looking is not activity):
   * its owner, meta, state and when it was last active (its owner key's TTL is
   * reset by every request and by its owner while busy). Undefined when gone.
   */
  async peek(sessionId: string): Promise<StoredSession | undefined> {
    const [userId, meta, state, [ttlLeft]] = await Promise.all([
      this.kv.get(keys.sessionOwner(sessionId)),
      this.meta(sessionId),
      this.kv.get(keys.sessionState(sessionId)),
      this.kv.remainingTtl([keys.sessionOwner(sessionId)]),
    ]);
    if (userId === null || !meta) return undefined;
    const lastActivity = Date.now() - Math.max(0, this.idleTtlMs - (ttlLeft ?? 0));
    return { sessionId, userId, meta, state, lastActivity };
  }

  /** The owner's user id (refreshing the session's idle TTL), or null when there is no such session. */
  ownerOf(sessionId: string): Promise<string | null> {
    return this.kv.getAndTouch(keys.sessionOwner(sessionId), this.idleTtlMs);
  }

  /** Transport and creation time (cached), with the instance running the session now. */
  async meta(sessionId: string): Promise<SessionMeta | undefined> {
    const [fixed, instanceId] = await Promise.all([this.fixedMeta(sessionId), this.kv.get(keys.sessionInstance(sessionId))]);
    return fixed && instanceId !== null ? { ...fixed, instanceId } : undefined;
  }

  instanceOf(sessionId: string): Promise<string | null> {
    return this.kv.get(keys.sessionInstance(sessionId));
  }

  async hasStandaloneStream(sessionId: string): Promise<boolean> {
    const [held] = await this.kv.existing([keys.standaloneHolder(sessionId)]);
    return held === true;
  }

  loadState(sessionId: string): Promise<string | null> {
    return this.kv.get(keys.sessionState(sessionId));
  }

  async saveState(sessionId: string, state: string): Promise<void> {
    await this.kv.set(keys.sessionState(sessionId), state, this.idleTtlMs);
  }

  /** Takes the session over from `expected` ('' = released; else an instance whose lease lapsed or was revoked). */
  claim(sessionId: string, expected: string, instanceId: string): Promise<boolean> {
    return this.kv.claim(keys.sessionInstance(sessionId), expected, instanceId, keys.instanceLease(expected || 'none'));
  }

  /** Lets another instance take the session over at once (eviction, shutdown). */
  release(sessionId: string, instanceId: string): Promise<boolean> {
    return this.kv.release(keys.sessionInstance(sessionId), instanceId);
  }

  /**
   * The owner's word that its sessions are alive and busy: their keys are written
   * anew (not merely touched), so that a key which lapsed just as its session got
   * busy again comes back.
   */
  async refresh(records: SessionRecord[]): Promise<void> {
    // Renewed (written only when missing): Redis at maxmemory refuses SET but allows PEXPIRE.
    await Promise.all([
      ...records.flatMap((record) => entriesOf(record).map(([key, value]) => this.kv.renew(key, value, this.idleTtlMs))),
      this.events.touch(records.map((r) => r.sessionId)),
      this.extendUserSessions(records.map(({ sessionId, userId }) => ({ sessionId, userId }))),
    ]);
  }

  /** Keeps sessions alive that show activity their owner does not see (an open stream elsewhere). */
  async touch(sessions: Array<{ sessionId: string; userId: string }>): Promise<void> {
    const sessionIds = sessions.map((s) => s.sessionId);
    await Promise.all([
      this.kv.touch(
        sessionIds.flatMap((id) => [keys.sessionOwner(id), keys.sessionMeta(id), keys.sessionInstance(id), keys.sessionState(id)]),
        this.idleTtlMs,
      ),
      this.events.touch(sessionIds),
      this.extendUserSessions(sessions),
    ]);
  }

  /** Live sessions stay counted in their users' bounds for as long as they live. */
  private async extendUserSessions(sessions: Array<{ sessionId: string; userId: string }>): Promise<void> {
    const byUser = new Map<string, string[]>();
    for (const { sessionId, userId } of sessions) byUser.set(userId, [...(byUser.get(userId) ?? []), sessionId]);
    const expiresAt = Date.now() + this.idleTtlMs;
    await Promise.all([...byUser].map(([userId, ids]) => this.kv.extendBounded(keys.userSessions(userId), ids, expiresAt, this.idleTtlMs)));
  }

  async exists(sessionIds: string[]): Promise<boolean[]> {
    return this.kv.existing(sessionIds.map((id) => keys.sessionOwner(id)));
  }

  /** Deletes every key of the session (and its place in its user's bound, when the user is known). */
  async remove(sessionId: string, userId?: string): Promise<void> {
    this.metaCache.delete(sessionId);
    await Promise.all([
      userId === undefined ? undefined : this.kv.removeBounded(keys.userSessions(userId), sessionId),
      this.kv.del([
        keys.sessionOwner(sessionId),
        keys.sessionMeta(sessionId),
        keys.sessionInstance(sessionId),
        keys.sessionState(sessionId),
        keys.standaloneHolder(sessionId),
      ]),
      this.events.remove(sessionId),
    ]);
  }

  forget(sessionId: string): void {
    this.metaCache.delete(sessionId);
  }

  private async fixedMeta(sessionId: string): Promise<Omit<SessionMeta, 'instanceId'> | undefined> {
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
}

/** The keys a session record is stored under, with their values. */
function entriesOf({ sessionId, userId, meta, state }: SessionRecord): Array<[key: string, value: string]> {
  return [
    [keys.sessionOwner(sessionId), userId],
    [keys.sessionMeta(sessionId), JSON.stringify({ transport: meta.transport, createdAt: meta.createdAt })],
    [keys.sessionInstance(sessionId), meta.instanceId],
    [keys.sessionState(sessionId), state],
  ];
}

function parseMeta(raw: string): Omit<SessionMeta, 'instanceId'> | undefined {
  try {
    const value = JSON.parse(raw) as Partial<SessionMeta>;
    if (value.transport !== 'shttp' && value.transport !== 'sse') return undefined;
    return { transport: value.transport, createdAt: Number(value.createdAt) || 0 };
  } catch {
    return undefined;
  }
}
