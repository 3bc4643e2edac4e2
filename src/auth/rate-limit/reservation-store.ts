import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Logger } from '../../observability/logger.js';

/**
 * Reserves tokens from one window's shared counter, atomically: grants
 * min(max chunk, ceil(left / share divisor)), 0 once the limit is reached, so
 * the counter never passes the limit. Returns {granted, counter after}.
 * KEYS[1]: the counter. ARGV: limit, max chunk, share divisor, TTL (ms).
 */
const RESERVE_SCRIPT = `
local limit = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = limit - used
if left <= 0 then return {0, used} end
local granted = math.min(tonumber(ARGV[2]), math.ceil(left / tonumber(ARGV[3])))
local total = redis.call('INCRBY', KEYS[1], granted)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {granted, total}`;

/** A reservation takes at most this fraction of the limit (a client that lands on many instances strands little)… */
const MAX_CHUNK_FRACTION = 0.025;
/** …and at most 1/SHARE_DIVISOR of what is left, so that unused reservations starve others little. */
const SHARE_DIVISOR = 4;
/** The counter outlives its window by this much, so that an instance whose clock lags does not recreate it. */
const TTL_MARGIN_MS = 5000;
/** After a failed reservation, new ones count locally for this long instead of queuing on a dead Redis. */
const REDIS_BACKOFF_MS = 1000;
const MAX_ENTRIES = 100_000;
/** Tokens an instance holds for a key nobody used for this long go back to the shared counter. */
const GIVE_BACK_AFTER_MS = 2000;

/** Gives unused tokens back, never below zero. KEYS[1]: the counter. ARGV: tokens. */
const GIVE_BACK_SCRIPT = `
local left = redis.call('DECRBY', KEYS[1], ARGV[1])
if left < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
return left`;

/** What the store needs of a node-redis client (give it one whose commands time out). */
export interface ReservationRedis {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

interface Entry {
  /** Start of the fixed window (epoch ms); the counter is `{prefix}{key}:{window}`. */
  window: number;
  counterKey: string;
  resetTime: Date;
  /** Requests this instance may still admit without asking Redis. */
  tokens: number;
  /** The shared counter after our last reservation: every instance's reserved tokens. */
  counter: number;
  /** Requests this instance admitted in the window. */
  admitted: number;
  refused: number;
  /** Nothing is left in the window: refuse without asking Redis again. */
  exhausted: boolean;
  /** Redis failed: this instance counts alone, against the same limit, until the window ends. */
  local: boolean;
  /** When this instance last admitted a request for the key (ms). */
  lastUsed: number;
  /** The reservation under way: every request that finds no token waits for this one. */
  reserving?: Promise<void>;
}

/**
 * An express-rate-limit store for /mcp, /sse and /message that never lets all
 * instances together admit more than the limit in a window, yet costs no Redis
 * command per request. Written by hand because rate-limit-redis runs a script
 * per request, which would add a fourth command to a tool call whose budget is
 * three.
 *
 * Quota reservations: per key and fixed window, an instance reserves a chunk of
 * tokens from the shared counter with one EVAL (RESERVE_SCRIPT), admits
 * requests locally while it holds tokens, and reserves again when they run out;
 * requests arriving meanwhile wait for that same EVAL. The first request of a
 * key waits for its reservation. Chunks are small (a fortieth of the limit)
 * and shrink as the counter nears it; tokens an instance reserved and did not
 * use are given back once their key has been idle for GIVE_BACK_AFTER_MS (one
 * timer per store), so others may be refused a little early, never admitted
 * past the limit. Forgetting an entry (the map is bounded) forfeits its tokens. If Redis fails (unreachable, OOM…), the
 * entry counts locally against the same limit for the rest of its window: a
 * store failure never fails a request.
 */
export class ReservationStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private limit = 0;
  private maxChunk = 1;
  private readonly entries = new Map<string, Entry>();
  private redisDownUntil = 0;
  /** One timer per store, only while some entry holds tokens: gives back what idle keys hold. */
  private giveBackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: ReservationRedis,
    readonly prefix: string,
    private readonly logger: Logger,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  init(options: Options): void {
    if (typeof options.limit !== 'number') throw new Error('ReservationStore needs a fixed limit');
    this.windowMs = options.windowMs;
    this.limit = options.limit;
    this.maxChunk = Math.max(1, Math.ceil(options.limit * MAX_CHUNK_FRACTION));
  }

  /** Entries held (bounded by maxEntries). */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): ClientRateLimitInfo | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.window !== this.windowStart()) return undefined;
    return { totalHits: entry.refused > 0 && entry.tokens === 0 ? this.limit + entry.refused : this.used(entry), resetTime: entry.resetTime };
  }

  increment(key: string): IncrementResponse | Promise<IncrementResponse> {
    const entry = this.entry(key);
    return this.take(entry) ?? this.awaitTokens(entry);
  }

  /** Not called (no skipFailedRequests/skipSuccessfulRequests): a spent token stays spent, which never over-admits. */
  decrement(): void {}

  /** Forgets this instance's entry and its unspent tokens; the shared counter ends with its window. */
  resetKey(key: string): void {
    this.entries.delete(key);
  }

  /** Admits with a token, refuses once exhausted; undefined when a reservation is needed. */
  private take(entry: Entry): IncrementResponse | undefined {
    if (entry.tokens > 0) {
      entry.tokens--;
      entry.admitted++;
      entry.lastUsed = Date.now();
      return { totalHits: this.used(entry), resetTime: entry.resetTime };
    }
    if (entry.exhausted) {
      entry.refused++;
      return { totalHits: this.limit + entry.refused, resetTime: entry.resetTime };
    }
    return undefined;
  }

  /** Each round either brings tokens or marks the entry exhausted, so this ends. */
  private async awaitTokens(entry: Entry): Promise<IncrementResponse> {
    for (;;) {
      await (entry.reserving ??= this.reserve(entry).finally(() => (entry.reserving = undefined)));
      const answer = this.take(entry);
      if (answer) return answer;
    }
  }

  private async reserve(entry: Entry): Promise<void> {
    if (entry.local || Date.now() < this.redisDownUntil) return this.countLocally(entry);
    try {
      const ttlMs = entry.window + this.windowMs - Date.now() + TTL_MARGIN_MS;
      const reply = (await this.redis.eval(RESERVE_SCRIPT, {
        keys: [entry.counterKey],
        arguments: [String(this.limit), String(this.maxChunk), String(SHARE_DIVISOR), String(Math.max(TTL_MARGIN_MS, ttlMs))],
      })) as [number, number];
      const [granted, counter] = reply.map(Number) as [number, number];
      entry.tokens += granted;
      entry.counter = counter;
      entry.exhausted = granted === 0;
      if (granted > 0) this.scheduleGiveBack();
    } catch (error) {
      this.redisDownUntil = Date.now() + REDIS_BACKOFF_MS;
      this.logger.debug('rate-limit reservation failed; counting locally', { prefix: this.prefix, error: (error as Error).message });
      this.countLocally(entry);
    }
  }

  /**
   * Tokens reserved and not used strand others' requests until the window ends
   * (a client whose later requests all land on another instance): what a key
   * idle for GIVE_BACK_AFTER_MS holds goes back to the shared counter.
   */
  private scheduleGiveBack(): void {
    if (this.giveBackTimer) return;
    this.giveBackTimer = setTimeout(() => {
      this.giveBackTimer = undefined;
      void this.giveBack();
    }, GIVE_BACK_AFTER_MS);
    this.giveBackTimer.unref();
  }

  private async giveBack(): Promise<void> {
    const now = Date.now();
    const window = this.windowStart(now);
    let holding = false;
    for (const entry of this.entries.values()) {
      if (entry.tokens === 0 || entry.local || entry.reserving || entry.window !== window) continue;
      if (now - entry.lastUsed < GIVE_BACK_AFTER_MS) {
        holding = true;
        continue;
      }
      const tokens = entry.tokens;
      entry.tokens = 0;
      entry.counter -= tokens;
      entry.exhausted = false;
      try {
        await this.redis.eval(GIVE_BACK_SCRIPT, { keys: [entry.counterKey], arguments: [String(tokens)] });
      } catch (error) {
        // Not given back: others are refused a little early, never admitted past the limit.
        this.logger.debug('rate-limit tokens not given back', { prefix: this.prefix, error: (error as Error).message });
      }
    }
    if (holding) this.scheduleGiveBack();
  }

  private countLocally(entry: Entry): void {
    entry.local = true;
    entry.tokens = Math.max(0, this.limit - entry.admitted);
    entry.exhausted = entry.tokens === 0;
  }

  /**
   * All instances' hits as far as we know: the counter counts others' reserved
   * tokens as used (so `remaining` never overstates), ours only once spent.
   */
  private used(entry: Entry): number {
    return Math.min(this.limit, Math.max(entry.admitted, entry.counter - entry.tokens));
  }

  private windowStart(now = Date.now()): number {
    return now - (now % this.windowMs);
  }

  private entry(key: string): Entry {
    const window = this.windowStart();
    const found = this.entries.get(key);
    if (found?.window === window) return found;
    if (found) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) this.makeRoom(window);
    const entry: Entry = {
      window,
      counterKey: `${this.prefix}${key}:${window}`,
      resetTime: new Date(window + this.windowMs),
      tokens: 0,
      counter: 0,
      admitted: 0,
      refused: 0,
      exhausted: false,
      local: false,
      lastUsed: Date.now(),
    };
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * Drops past windows, then (still full: many clients in one window) the
   * oldest tenth of the entries, so that the next inserts need no scan. Their
   * unspent tokens are forfeited; a returning client reserves anew.
   */
  private makeRoom(window: number): void {
    for (const [key, entry] of this.entries) if (entry.window !== window) this.entries.delete(key);
    const keep = Math.floor(this.maxEntries * 0.9);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= keep) break;
      this.entries.delete(key);
    }
  }
}
