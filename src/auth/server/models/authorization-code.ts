import { z } from 'zod';
import type { KeyValueStore } from '../../../routing/kv.js';
import { AUTHORIZATION_CODE_TTL_S, USED_CODE_TTL_S } from '../../constants.js';
import { newSecret, sha256 } from '../../crypto.js';
import { authKeys } from '../../store-keys.js';
import { JsonRecords } from './json-records.js';

/** What an authorization code stands for, kept ≤ 60 s under the code's hash. */
export const AuthorizationCodeSchema = z.object({
  clientId: z.string(),
  userId: z.string(),
  redirectUri: z.string(),
  redirectUriExplicit: z.boolean(),
  codeChallenge: z.string(),
  scopes: z.array(z.string()),
  resource: z.string(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});
export type AuthorizationCode = z.infer<typeof AuthorizationCodeSchema>;

export class AuthorizationCodeModel {
  private readonly records: JsonRecords<typeof AuthorizationCodeSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, AuthorizationCodeSchema);
  }

  async issue(fields: Omit<AuthorizationCode, 'issuedAt' | 'expiresAt'>): Promise<string> {
    const code = newSecret('mcp_ac_');
    const now = Date.now();
    const record: AuthorizationCode = { ...fields, issuedAt: now, expiresAt: now + AUTHORIZATION_CODE_TTL_S * 1000 };
    await this.records.put(authKeys.code(sha256(code)), record, AUTHORIZATION_CODE_TTL_S * 1000);
    return code;
  }

  async find(code: string): Promise<AuthorizationCode | undefined> {
    const record = await this.records.get(authKeys.code(sha256(code)));
    return record && record.expiresAt > Date.now() ? record : undefined;
  }

  /** The grant a code was already exchanged for, if it was. */
  async usedFor(code: string): Promise<string | undefined> {
    return (await this.records.getRaw(authKeys.codeUsed(sha256(code)))) ?? undefined;
  }

  /**
   * Marks the code used by this grant: true for exactly one caller. The mark
   * outlives the code (USED_CODE_TTL_S), so that a late replay still revokes.
   */
  markUsed(code: string, grantId: string): Promise<boolean> {
    return this.records.claim(authKeys.codeUsed(sha256(code)), grantId, USED_CODE_TTL_S * 1000);
  }

  async remove(code: string): Promise<void> {
    await this.records.del(authKeys.code(sha256(code)));
  }
}
