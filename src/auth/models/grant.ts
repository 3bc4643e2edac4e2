import { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { REFRESH_TOKEN_TTL_S } from '../constants.js';
import { newId } from '../crypto.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { JsonRecords } from './json-records.js';

/**
 * One authorization (one code exchange) and every token that descends from it:
 * the token family. A token is valid only while its grant exists, so deleting
 * the grant revokes the whole family at once.
 */
export const GrantSchema = z.object({
  grantId: z.string(),
  clientId: z.string(),
  userId: z.string(),
  createdAt: z.number().int(),
});
export type Grant = z.infer<typeof GrantSchema>;

export class GrantModel {
  private readonly records: JsonRecords<typeof GrantSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, GrantSchema);
  }

  async create(clientId: string, userId: string): Promise<Grant> {
    const grant: Grant = { grantId: newId(), clientId, userId, createdAt: Date.now() };
    await this.records.put(authKeys.grant(grant.grantId), grant, REFRESH_TOKEN_TTL_S * 1000);
    return grant;
  }

  find(grantId: string): Promise<Grant | undefined> {
    return this.records.get(authKeys.grant(grantId));
  }

  exists(grantId: string): Promise<boolean> {
    return this.records.exists(authKeys.grant(grantId));
  }

  /** A rotation keeps the family alive as long as its newest refresh token. */
  extend(grantId: string): Promise<void> {
    return this.records.touch(authKeys.grant(grantId), REFRESH_TOKEN_TTL_S * 1000);
  }

  remove(grantId: string): Promise<void> {
    return this.records.del(authKeys.grant(grantId));
  }
}
