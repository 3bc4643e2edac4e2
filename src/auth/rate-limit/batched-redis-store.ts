import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../routing/redis-connections.js';

/** One EVAL per flush: add each key's delta, refresh its TTL, return the totals of every instance. */
const FLUSH_SCRIPT = `
local ttl = tonumber(ARGV[1])
local totals = {}
for i = 1, #KEYS do
  totals[i] = redis.call('INCRBY', KEYS[i], ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return totals`;

const MAX_KEYS_PER_FLUSH = 500;
const MAX_ENTRIES = 100_000;

interface Entry {
  /** Start of the fixed window this entry counts (epoch ms). */
  window: number;
  /** Hits of all instances for this window, as Redis reported at our last flush. */
  synced: number;
  /** Our hits sent in the flush under way. */
  inFlight: number;
  /** Our hits not sent yet. */
  pending: number;
}

/**
 * An express-rate-limit store for /mcp, /sse and /message that costs no Redis
 * command per request. rate-limit-redis (used for the OAuth endpoints) runs a
 * script per request, which would add a fourth command to a tool call whose
 * budget is three (GETEX + 2×PUBLISH); so this store counts in process and,
 * at most once per `syncMs` and only while there are hits to report, sends all
 * of its deltas in one EVAL (INCRBY + PEXPIRE per key) and learns every
 * instance's total. Limits are therefore shared by all instances, with a lag
 * of one sync: each instance may admit up to one sync interval's worth of
 * extra requests per key before it learns the others' counts. When Redis is
 * unreachable the deltas wait for the next flush and counting goes on locally:
 * a Redis outage never fails a request here.
 */
export class BatchedRedisStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly redis: RedisClient,
    readonly prefix: string,
    private readonly logger: Logger,
    private readonly syncMs = 1000,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const entry = this.current(key, false);
    return entry ? { totalHits: this.total(entry), resetTime: new Date(entry.window + this.windowMs) } : undefined;
  }

  increment(key: string): IncrementResponse {
    const entry = this.current(key, true)!;
    entry.pending++;
    this.schedule();
    return { totalHits: this.total(entry), resetTime: new Date(entry.window + this.windowMs) };
  }

  decrement(key: string): void {
    const entry = this.current(key, false);
    if (!entry) return;
    entry.pending--;
    this.schedule();
  }

  /** Forgets this instance's view of the key (the shared counter ends with its window). */
  resetKey(key: string): void {
    this.entries.delete(key);
  }

  shutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private total(entry: Entry): number {
    return Math.max(0, entry.synced + entry.inFlight + entry.pending);
  }

  private windowStart(now = Date.now()): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }

  private current(key: string, create: boolean): Entry | undefined {
    const window = this.windowStart();
    let entry = this.entries.get(key);
    if (entry && entry.window !== window) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (!entry && create) {
      if (this.entries.size >= this.maxEntries) this.dropStale(window);
      // Still full (many client addresses within one window): forget the least recently
      // created entries. Their shared counters stay in Redis, and a returning client
      // learns its total at the next flush; only their unsent hits are lost.
      for (const key of this.entries.keys()) {
        if (this.entries.size < this.maxEntries) break;
        this.entries.delete(key);
      }
      entry = { window, synced: 0, inFlight: 0, pending: 0 };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private dropStale(window: number): void {
    for (const [key, entry] of this.entries) if (entry.window !== window) this.entries.delete(key);
  }

  /** A timer runs only while some hits wait to be reported. */
  private schedule(): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => void this.flush(), this.syncMs);
    this.timer.unref();
  }

  /** Sends every pending delta of the current window; resolves when done (tests call it directly). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing) return;
    this.flushing = true;
    try {
      const window = this.windowStart();
      this.dropStale(window);
      if (!this.redis.isOpen) {
        // The instance stopped (its connection is closed for good): nothing will be reported.
        this.entries.clear();
        return;
      }
      const batch = [...this.entries].filter(([, e]) => e.pending !== 0).slice(0, MAX_KEYS_PER_FLUSH);
      if (batch.length === 0) return;
      for (const [, entry] of batch) {
        entry.inFlight = entry.pending;
        entry.pending = 0;
      }
      const ttlMs = window + this.windowMs - Date.now() + this.syncMs * 2;
      try {
        const totals = (await this.redis.eval(FLUSH_SCRIPT, {
          keys: batch.map(([key, entry]) => `${this.prefix}${key}:${entry.window}`),
          arguments: [String(Math.max(1000, ttlMs)), ...batch.map(([, entry]) => String(entry.inFlight))],
        })) as unknown as number[];
        batch.forEach(([, entry], i) => {
          entry.synced = Number(totals[i] ?? entry.synced + entry.inFlight);
          entry.inFlight = 0;
        });
      } catch (error) {
        for (const [, entry] of batch) {
          entry.pending += entry.inFlight;
          entry.inFlight = 0;
        }
        this.logger.debug('rate-limit sync failed; will retry', { error: (error as Error).message });
      }
    } finally {
      this.flushing = false;
      if ([...this.entries.values()].some((e) => e.pending !== 0)) this.schedule();
    }
  }
}
