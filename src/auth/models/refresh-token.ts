import type { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { REFRESH_TOKEN_TTL_S } from '../constants.js';
import { newId } from '../crypto.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { GrantTokenSchema } from './grant-token.js';
import { HashedTokenRecords } from './hashed-token-records.js';
import { remainingMs } from './json-records.js';

/** A refresh token (opaque; rotated on every use), stored under its hash. */
export const RefreshTokenSchema = GrantTokenSchema;
export type RefreshToken = z.infer<typeof RefreshTokenSchema>;

export class RefreshTokenModel {
  private readonly records: HashedTokenRecords<RefreshToken>;

  constructor(kv: KeyValueStore) {
    this.records = new HashedTokenRecords(kv, RefreshTokenSchema, authKeys.refreshToken);
  }

  async issue(fields: Omit<RefreshToken, 'tokenId' | 'issuedAt' | 'expiresAt'>): Promise<{ token: string; record: RefreshToken }> {
    const { secret, record } = await this.records.issue('mcp_rt_', REFRESH_TOKEN_TTL_S, { ...fields, tokenId: newId() });
    return { token: secret, record };
  }

  find(token: string): Promise<RefreshToken | undefined> {
    return this.records.find(token);
  }

  /** Marks the token rotated: true for exactly one caller; any later use is a reuse. */
  markRotated(token: string, record: RefreshToken): Promise<boolean> {
    return this.records.claimMarker(authKeys.refreshUsed, token, record.tokenId, remainingMs(record.expiresAt));
  }

  remove(token: string): Promise<void> {
    return this.records.remove(token);
  }
}
