import { z } from 'zod';
import type { KeyValueStore } from '../../../routing/kv.js';
import { ACCESS_TOKEN_TTL_S } from '../../constants.js';
import { newId, newSecret, sha256 } from '../../crypto.js';
import { authKeys } from '../../store-keys.js';
import { JsonRecords } from './json-records.js';

/** An access token (opaque; 1 h), stored under its hash. */
export const AccessTokenSchema = z.object({
  tokenId: z.string(),
  grantId: z.string(),
  clientId: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  /** RFC 8707 audience. */
  resource: z.string(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});
export type AccessToken = z.infer<typeof AccessTokenSchema>;

export class AccessTokenModel {
  private readonly records: JsonRecords<typeof AccessTokenSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, AccessTokenSchema);
  }

  async issue(fields: Omit<AccessToken, 'tokenId' | 'issuedAt' | 'expiresAt'>): Promise<{ token: string; record: AccessToken }> {
    const token = newSecret('mcp_at_');
    const now = Date.now();
    const record: AccessToken = { ...fields, tokenId: newId(), issuedAt: now, expiresAt: now + ACCESS_TOKEN_TTL_S * 1000 };
    await this.records.put(authKeys.accessToken(sha256(token)), record, ACCESS_TOKEN_TTL_S * 1000);
    return { token, record };
  }

  async find(token: string): Promise<AccessToken | undefined> {
    const record = await this.records.get(authKeys.accessToken(sha256(token)));
    return record && record.expiresAt > Date.now() ? record : undefined;
  }

  async remove(token: string): Promise<void> {
    await this.records.del(authKeys.accessToken(sha256(token)));
  }
}
