/**
 * A bounded LRU of verification results, keyed by the token's SHA-256 (never
 * the token), each entry valid until its own deadline. Map iteration order is
 * insertion order, so re-inserting on a hit keeps the least recently used first.
 */
export class TokenCache<V> {
  private readonly entries = new Map<string, { value: V; validUntil: number }>();

  constructor(private readonly maxEntries: number) {}

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.validUntil <= now) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, validUntil: number): void {
    if (validUntil <= Date.now()) return;
    this.entries.delete(key);
    this.entries.set(key, { value, validUntil });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Drops every entry the predicate matches (revocations; rare, so a scan is fine). */
  evictWhere(predicate: (value: V) => boolean): number {
    let evicted = 0;
    for (const [key, entry] of this.entries) {
      if (predicate(entry.value)) {
        this.entries.delete(key);
        evicted++;
      }
    }
    return evicted;
  }
}
