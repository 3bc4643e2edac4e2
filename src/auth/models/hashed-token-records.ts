import type { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { newSecret, sha256 } from '../crypto.js';
import { JsonRecords } from './json-records.js';

/** When a secret-keyed record was issued and when it stops being valid (epoch ms). */
type Lifetime = { issuedAt: number; expiresAt: number };

/**
 * Records stored under the SHA-256 of an opaque secret we hand out (access and
 * refresh tokens, authorization codes): the secret itself is never stored, and
 * a record counts only until its expiresAt. "Used" markers of a secret live
 * under their own key, also derived from the hash.
 */
export class HashedTokenRecords<T extends Lifetime> {
  private readonly records: JsonRecords<z.ZodType<T>>;

  constructor(
    kv: KeyValueStore,
    schema: z.ZodType<T>,
    /** The record's store key, from the secret's hash. */
    private readonly keyFor: (hash: string) => string,
  ) {
    this.records = new JsonRecords(kv, schema);
  }

  /** A new secret with this prefix; its record, issued now and kept ttlS seconds, is stored under its hash. */
  async issue(prefix: string, ttlS: number, fields: Omit<T, keyof Lifetime>): Promise<{ secret: string; record: T }> {
    const secret = newSecret(prefix);
    const now = Date.now();
    const record = { ...fields, issuedAt: now, expiresAt: now + ttlS * 1000 } as T;
    await this.records.put(this.keyFor(sha256(secret)), record, ttlS * 1000);
    return { secret, record };
  }

  /** The record of this secret, unless absent or expired. */
  async find(secret: string): Promise<T | undefined> {
    const record = await this.records.get(this.keyFor(sha256(secret)));
    return record && record.expiresAt > Date.now() ? record : undefined;
  }

  async remove(secret: string): Promise<void> {
    await this.records.del(this.keyFor(sha256(secret)));
  }

  /** Sets the secret's marker (under markerKeyFor) if absent: true for exactly one caller. */
  claimMarker(markerKeyFor: (hash: string) => string, secret: string, value: string, ttlMs: number): Promise<boolean> {
    return this.records.claim(markerKeyFor(sha256(secret)), value, ttlMs);
  }

  /** The value of the secret's marker, if set. */
  async readMarker(markerKeyFor: (hash: string) => string, secret: string): Promise<string | undefined> {
    return (await this.records.getRaw(markerKeyFor(sha256(secret)))) ?? undefined;
  }
}
