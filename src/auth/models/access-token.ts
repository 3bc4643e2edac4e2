import type { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { ACCESS_TOKEN_TTL_S } from '../constants.js';
import { newId } from '../crypto.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { GrantTokenSchema } from './grant-token.js';
import { HashedTokenRecords } from './hashed-token-records.js';

/** An access token (opaque; 1 h), stored under its hash. */
export const AccessTokenSchema = GrantTokenSchema;
export type AccessToken = z.infer<typeof AccessTokenSchema>;

export class AccessTokenModel {
  private readonly records: HashedTokenRecords<AccessToken>;

  constructor(kv: KeyValueStore) {
    this.records = new HashedTokenRecords(kv, AccessTokenSchema, authKeys.accessToken);
  }

  async issue(fields: Omit<AccessToken, 'tokenId' | 'issuedAt' | 'expiresAt'>): Promise<{ token: string; record: AccessToken }> {
    const { secret, record } = await this.records.issue('mcp_at_', ACCESS_TOKEN_TTL_S, { ...fields, tokenId: newId() });
    return { token: secret, record };
  }

  find(token: string): Promise<AccessToken | undefined> {
    return this.records.find(token);
  }

  remove(token: string): Promise<void> {
    return this.records.remove(token);
  }
}
