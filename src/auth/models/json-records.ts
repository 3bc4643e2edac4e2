import type { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { guarded } from '../store-errors.js';

/**
 * JSON records on the shared key/value store (Redis, or memory when embedded),
 * each written with a TTL and validated with zod when read: a record that does
 * not parse counts as absent. Every failure of the store becomes
 * StoreUnavailableError.
 */
export class JsonRecords<S extends z.ZodType> {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly schema: S,
  ) {}

  async get(key: string): Promise<z.infer<S> | undefined> {
    const raw = await guarded(() => this.kv.get(key));
    if (raw === null) return undefined;
    try {
      const parsed = this.schema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  put(key: string, value: z.infer<S>, ttlMs: number): Promise<boolean> {
    return guarded(() => this.kv.set(key, JSON.stringify(value), Math.max(1, Math.ceil(ttlMs))));
  }

  /** SET NX: true for the one caller that created the key. The basis of every "once only". */
  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    return guarded(() => this.kv.set(key, value, Math.max(1, Math.ceil(ttlMs)), { onlyIfAbsent: true }));
  }

  getRaw(key: string): Promise<string | null> {
    return guarded(() => this.kv.get(key));
  }

  exists(key: string): Promise<boolean> {
    return guarded(async () => (await this.kv.existing([key]))[0] === true);
  }

  touch(key: string, ttlMs: number): Promise<void> {
    return guarded(() => this.kv.touch([key], ttlMs));
  }

  del(...keys: string[]): Promise<void> {
    return guarded(() => this.kv.del(keys));
  }
}

/** Milliseconds left until an absolute expiry (epoch ms), at least 1. */
export function remainingMs(expiresAtMs: number): number {
  return Math.max(1, expiresAtMs - Date.now());
}
