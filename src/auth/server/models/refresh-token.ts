import { z } from 'zod';
import type { KeyValueStore } from '../../../routing/kv.js';
import { REFRESH_TOKEN_TTL_S } from '../../constants.js';
import { newId, newSecret, sha256 } from '../../crypto.js';
import { authKeys } from '../../store-keys.js';
import { JsonRecords, remainingMs } from './json-records.js';

/** A refresh token (opaque; rotated on every use), stored under its hash. */
export const RefreshTokenSchema = z.object({
  tokenId: z.string(),
  grantId: z.string(),
  clientId: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  resource: z.string(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});
export type RefreshToken = z.infer<typeof RefreshTokenSchema>;

export class RefreshTokenModel {
  private readonly records: JsonRecords<typeof RefreshTokenSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, RefreshTokenSchema);
  }

  async issue(fields: Omit<RefreshToken, 'tokenId' | 'issuedAt' | 'expiresAt'>): Promise<{ token: string; record: RefreshToken }> {
    const token = newSecret('mcp_rt_');
    const now = Date.now();
    const record: RefreshToken = { ...fields, tokenId: newId(), issuedAt: now, expiresAt: now + REFRESH_TOKEN_TTL_S * 1000 };
    await this.records.put(authKeys.refreshToken(sha256(token)), record, REFRESH_TOKEN_TTL_S * 1000);
    return { token, record };
  }

  async find(token: string): Promise<RefreshToken | undefined> {
    const record = await this.records.get(authKeys.refreshToken(sha256(token)));
    return record && record.expiresAt > Date.now() ? record : undefined;
  }

  /** Marks the token rotated: true for exactly one caller; any later use is a reuse. */
  markRotated(token: string, record: RefreshToken): Promise<boolean> {
    return this.records.claim(authKeys.refreshUsed(sha256(token)), record.tokenId, remainingMs(record.expiresAt));
  }

  async remove(token: string): Promise<void> {
    await this.records.del(authKeys.refreshToken(sha256(token)));
  }
}
