import { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { AUTHORIZATION_CODE_TTL_S, USED_CODE_TTL_S } from '../constants.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { HashedTokenRecords } from './hashed-token-records.js';

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
  private readonly records: HashedTokenRecords<AuthorizationCode>;

  constructor(kv: KeyValueStore) {
    this.records = new HashedTokenRecords(kv, AuthorizationCodeSchema, authKeys.code);
  }

  async issue(fields: Omit<AuthorizationCode, 'issuedAt' | 'expiresAt'>): Promise<string> {
    return (await this.records.issue('mcp_ac_', AUTHORIZATION_CODE_TTL_S, fields)).secret;
  }

  find(code: string): Promise<AuthorizationCode | undefined> {
    return this.records.find(code);
  }

  /** The grant a code was already exchanged for, if it was. */
  usedFor(code: string): Promise<string | undefined> {
    return this.records.readMarker(authKeys.codeUsed, code);
  }

  /**
   * Marks the code used by this grant: true for exactly one caller. The mark
   * outlives the code (USED_CODE_TTL_S), so that a late replay still revokes.
   */
  markUsed(code: string, grantId: string): Promise<boolean> {
    return this.records.claimMarker(authKeys.codeUsed, code, grantId, USED_CODE_TTL_S * 1000);
  }

  remove(code: string): Promise<void> {
    return this.records.remove(code);
  }
}
