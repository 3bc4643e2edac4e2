/**
 * The few key/value operations sessions need. Every key written has a TTL: nothing
 * we store outlives its purpose. Implementations: Redis and in-memory.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** Reads a key and, when it exists, resets its TTL (Redis GETEX): one command per request. */
  getAndTouch(key: string, ttlMs: number): Promise<string | null>;
  /** Sets a key with a TTL; with onlyIfAbsent, succeeds only when the key did not exist. */
  set(key: string, value: string, ttlMs: number, options?: { onlyIfAbsent?: boolean }): Promise<boolean>;
  /** Writes several keys, each with the TTL (in one round trip). */
  setMany(entries: Array<[key: string, value: string]>, ttlMs: number): Promise<void>;
  /** Resets the TTL of existing keys (in one round trip). */
  touch(keys: string[], ttlMs: number): Promise<void>;
  /** Which of these keys exist, in order (in one round trip). */
  existing(keys: string[]): Promise<boolean[]>;
  del(keys: string[]): Promise<void>;
  /** Deletes the key only while it still holds this value (releasing a lease we hold). */
  delIfEquals(key: string, value: string): Promise<boolean>;
  /**
   * Takes over a pointer atomically: sets `key` to `next` (keeping its TTL) only
   * while it holds `expected` and, unless `expected` is '' (released), while
   * `guardKey` (the current holder's lease) does not exist. Exactly one of several
   * racing claimants wins.
   */
  claim(key: string, expected: string, next: string, guardKey: string): Promise<boolean>;
  /** Sets `key` to '' (keeping its TTL) only while it holds `holder`. */
  release(key: string, holder: string): Promise<boolean>;
  /**
   * Resets the TTL of an existing key, or writes it when it is missing, in one
   * step. An existing key is only touched, which Redis allows even at maxmemory
   * (liveness and ownership survive a full Redis).
   */
  renew(key: string, value: string, ttlMs: number): Promise<void>;
  /** Resets the TTL of one key, in one command (Redis allows it at maxmemory): false when the key does not exist. */
  extend(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Deletes the key when it has at most `maxRemainingMs` left to live (a lease its holder
   * stopped renewing), atomically: a renewal that arrived first keeps it. True when the key
   * is gone (deleted now, or missing already).
   */
  revokeIfStale(key: string, maxRemainingMs: number): Promise<boolean>;
  /**
   * Writes keys of one hash slot, each with the TTL, in one step, unless `guardKey` holds a
   * value other than `holder` (a missing guard key is no obstacle): false, writing nothing, then.
   */
  setManyIfHeld(guardKey: string, holder: string, entries: Array<[key: string, value: string]>, ttlMs: number): Promise<boolean>;
  /**
   * A bounded set of expiring members (a count of live things, shared by all
   * instances): adds `member`, to expire at `expiresAt` (ms since epoch), unless
   * `limit` unexpired members are there already (0 = no limit). Atomic: of several
   * instances adding at once, never more than `limit` get in. The set itself
   * expires `ttlMs` after its last addition.
   */
  addBounded(key: string, member: string, expiresAt: number, limit: number, ttlMs: number): Promise<boolean>;
  /** Pushes members' expiry forward (only members still there; never backward), and the set's TTL. */
  extendBounded(key: string, members: string[], expiresAt: number, ttlMs: number): Promise<void>;
  removeBounded(key: string, member: string): Promise<void>;
  /**
   * Adds or refreshes a member of an unbounded set of expiring members (a
   * registry), dropping the expired ones, in one round trip of plain commands
   * (no script). The set expires `ttlMs` after its last refresh.
   */
  refreshMember(key: string, member: string, expiresAt: number, ttlMs: number): Promise<void>;
  /** The unexpired members of a bounded set (at most `max`, the latest to expire first). */
  boundedMembers(key: string, max: number): Promise<string[]>;
  /** How long each key has left to live (ms), in order; null for a key that does not exist (in one round trip). */
  remainingTtl(keys: string[]): Promise<Array<number | null>>;
}
