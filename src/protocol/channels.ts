import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * Redis channel and key names. These are a public contract: operators watch them
 * with redis-cli and docs/redis.md lists them. Change nothing here lightly.
 */

/** Stream key of the standalone (GET) stream of a Streamable HTTP session. */
export const STANDALONE_STREAM = '__GET_stream';

/**
 * Stream key for a client request id. Numbers and strings get distinct prefixes so
 * that ids 1 and "1" never share a channel; strings are percent-encoded so that no
 * id can add ':' separators or whitespace to a channel name. (Glob characters may
 * remain; they are harmless: ids never appear in the patterns we subscribe to.)
 */
export function streamKeyFor(id: RequestId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${encodeURIComponent(id)}`;
}

/** The request id a stream key was made from (inverse of streamKeyFor). */
export function requestIdOfStreamKey(key: string): RequestId | undefined {
  if (key.startsWith('n:')) {
    const id = Number(key.slice(2));
    return Number.isFinite(id) ? id : undefined;
  }
  if (key.startsWith('s:')) {
    try {
      return decodeURIComponent(key.slice(2));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A session's hash tag: every key and channel of one session carries `{<sessionId>}`,
 * so that on a Redis Cluster they all live in one slot (one node): its scripts
 * and batches never span slots, and its channels use sharded pub/sub.
 */
const tag = (sessionId: string) => `{${sessionId}}`;

/**
 * Whether a channel is sharded (SPUBLISH/SSUBSCRIBE): one with a hash tag, a session's or an
 * instance's liveness channel; the rest are classic.
 */
export function isShardedChannel(channel: string): boolean {
  return channel.includes('{');
}

export const channels = {
  toServer: (sessionId: string) => `mcp:shttp:toserver:${tag(sessionId)}`,
  toClient: (sessionId: string, streamKey: string) => `mcp:shttp:toclient:${tag(sessionId)}:${streamKey}`,
  control: (sessionId: string) => `mcp:control:${tag(sessionId)}`,
  /** Server→client messages of a legacy HTTP+SSE session (one stream per session). */
  sseToClient: (sessionId: string) => `mcp:sse:toclient:${tag(sessionId)}`,
  /** Copies of a session's messages, both directions, from its owner while someone taps it ("my sessions"). */
  tap: (sessionId: string) => `mcp:tap:${tag(sessionId)}`,
  /** Ids of tasks just cancelled, for the instance running each (one channel for all tasks). */
  tasksCancelled: 'mcp:tasks:cancelled',
  /** Ids of tasks whose questions were just answered (tasks/update), for the instance running each. */
  tasksAnswered: 'mcp:tasks:answered',
  /** List changes and resource updates of the 2026-07-28 era, for every instance's listen streams. */
  changeEvents: 'mcp:events',
  /** Asks of the "my sessions" page: every instance answers with what it holds of one user's sessions. */
  censusAsk: 'mcp:console:ask',
  /** Answers to one instance's asks. */
  censusReplies: (instanceId: string) => `mcp:console:replies:${instanceId}`,
  /**
   * An instance's liveness channel, sharded (its own hash tag): the instance subscribes to it
   * for its whole life, and SPUBLISH's count on it (exact for its shard) tells whether the
   * instance's subscriber connection is open. Nothing is ever delivered that matters.
   */
  instanceAlive: (instanceId: string) => `mcp:instance:{${instanceId}}:alive`,
};

export const keys = {
  /** → user id of the session's owner; TTL = idle timeout, refreshed by activity. */
  sessionOwner: (sessionId: string) => `session:${tag(sessionId)}:owner`,
  /** → JSON SessionMeta (transport, created at); never changes; same TTL as the owner key. */
  sessionMeta: (sessionId: string) => `mcp:session:${tag(sessionId)}:meta`,
  /** → id of the instance running the session now, or '' while none does (evicted, drained); same TTL. */
  sessionInstance: (sessionId: string) => `mcp:session:${tag(sessionId)}:instance`,
  /** → JSON PersistedSession (what initialize negotiated, feature state): enough to rebuild it anywhere; same TTL. */
  sessionState: (sessionId: string) => `mcp:session:${tag(sessionId)}:state`,
  /** Redis list of the session's server→client messages, for Last-Event-ID replay; same TTL as the owner key. */
  sessionEvents: (sessionId: string) => `mcp:session:${tag(sessionId)}:events`,
  /** → token of the HTTP request holding the session's standalone stream; short TTL, renewed by the holder. */
  standaloneHolder: (sessionId: string) => `mcp:session:${tag(sessionId)}:standalone`,
  /**
   * → JSON {host, pid, startedAt, ttlMs, heartbeatMs}; the instance's liveness lease, TTL
   * ttlMs, renewed every heartbeatMs while it runs (how long ago is its TTL's shortfall).
   */
  instanceLease: (instanceId: string) => `mcp:instance:${instanceId}:lease`,
  /** → sorted set of the live instances' ids, each scored by when its lease expires; TTL = the lease TTL, renewed with the leases. */
  instances: 'mcp:instances',
  /** → sorted set of the user's live session ids, each scored by when it expires (MAX_SESSIONS_PER_USER). */
  userSessions: (userId: string) => `mcp:user:${userId}:sessions`,
};

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Session ids are UUIDs we minted; anything else cannot name a session. */
export function isWellFormedSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}
