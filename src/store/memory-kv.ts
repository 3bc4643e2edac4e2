import type { KeyValueStore } from './kv.js';
import { sweepEvery } from './sweeper.js';

interface Entry {
  value: string;
  expiresAt: number;
}

interface BoundedSet {
  members: Map<string, number>;
  expiresAt: number;
}

/**
 * The embedded mode's store. Expired keys vanish on read, and a sweep (one
 * unref'd timer per store, not per key) purges the ones nobody reads again.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly entries = new Map<string, Entry>();
  private readonly sets = new Map<string, BoundedSet>();
  private readonly stopSweeping: () => void;

  constructor(sweepIntervalMs = 30_000) {
    this.stopSweeping = sweepEvery(sweepIntervalMs, () => this.purgeExpired());
  }

  close(): void {
    this.stopSweeping();
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async getAndTouch(key: string, ttlMs: number): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    entry.expiresAt = Date.now() + ttlMs;
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number, options?: { onlyIfAbsent?: boolean }): Promise<boolean> {
    if (options?.onlyIfAbsent && this.live(key)) return false;
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async setMany(entries: Array<[string, string]>, ttlMs: number): Promise<void> {
    for (const [key, value] of entries) this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async touch(keys: string[], ttlMs: number): Promise<void> {
    for (const key of keys) {
      const entry = this.live(key);
      if (entry) entry.expiresAt = Date.now() + ttlMs;
    }
  }

  async existing(keys: string[]): Promise<boolean[]> {
    return keys.map((key) => this.live(key) !== undefined);
  }

  async del(keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    if (this.live(key)?.value !== value) return false;
    this.entries.delete(key);
    return true;
  }

  async claim(key: string, expected: string, next: string, guardKey: string): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.value !== expected) return false;
    if (expected !== '' && this.live(guardKey)) return false;
    entry.value = next;
    return true;
  }

  async release(key: string, holder: string): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.value !== holder) return false;
    entry.value = '';
    return true;
  }

  async renew(key: string, value: string, ttlMs: number): Promise<void> {
    const entry = this.live(key);
    if (entry) entry.expiresAt = Date.now() + ttlMs;
    else this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async extend(key: string, ttlMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (entry) entry.expiresAt = Date.now() + ttlMs;
    return entry !== undefined;
  }

  async revokeIfStale(key: string, maxRemainingMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (entry && entry.expiresAt - Date.now() > maxRemainingMs) return false;
    this.entries.delete(key);
    return true;
  }

  async setManyIfHeld(guardKey: string, holder: string, entries: Array<[string, string]>, ttlMs: number): Promise<boolean> {
    const held = this.live(guardKey);
    if (held && held.value !== holder) return false;
    await this.setMany(entries, ttlMs);
    return true;
  }

  async addBounded(key: string, member: string, expiresAt: number, limit: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    let set = this.liveSet(key);
    if (!set) this.sets.set(key, (set = { members: new Map(), expiresAt: 0 }));
    for (const [m, at] of set.members) if (at <= now) set.members.delete(m);
    if (limit > 0 && !set.members.has(member) && set.members.size >= limit) return false;
    set.members.set(member, expiresAt);
    set.expiresAt = now + ttlMs;
    return true;
  }

  async extendBounded(key: string, members: string[], expiresAt: number, ttlMs: number): Promise<void> {
    const set = this.liveSet(key);
    if (!set) return;
    for (const member of members) {
      const at = set.members.get(member);
      if (at !== undefined && at < expiresAt) set.members.set(member, expiresAt);
    }
    set.expiresAt = Date.now() + ttlMs;
  }

  async refreshMember(key: string, member: string, expiresAt: number, ttlMs: number): Promise<void> {
    await this.addBounded(key, member, expiresAt, 0, ttlMs);
  }

  async removeBounded(key: string, member: string): Promise<void> {
    this.liveSet(key)?.members.delete(member);
  }

  async boundedMembers(key: string, max: number): Promise<string[]> {
    const now = Date.now();
    return [...(this.liveSet(key)?.members ?? [])]
      .filter(([, at]) => at > now)
      .sort(([, a], [, b]) => b - a)
      .slice(0, max)
      .map(([member]) => member);
  }

  async remainingTtl(keys: string[]): Promise<Array<number | null>> {
    const now = Date.now();
    return keys.map((key) => {
      const entry = this.live(key);
      return entry ? entry.expiresAt - now : null;
    });
  }

  private liveSet(key: string): BoundedSet | undefined {
    const set = this.sets.get(key);
    if (set && set.expiresAt <= Date.now()) {
      this.sets.delete(key);
      return undefined;
    }
    return set;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const [key, set] of this.sets) if (set.expiresAt <= now) this.sets.delete(key);
  }
}
