import { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { PENDING_AUTHORIZATION_TTL_S } from '../constants.js';
import { newSecret, sha256 } from '../crypto.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { JsonRecords, remainingMs } from './json-records.js';

/**
 * An /authorize request that passed every check and waits for the user: first
 * the consent page, then the fake upstream IdP, whose callback completes it once.
 * Its id is the `state` we send to the IdP; only its hash is stored.
 */
export const PendingAuthorizationSchema = z.object({
  clientId: z.string(),
  redirectUri: z.string(),
  /** Whether the client sent redirect_uri (then /token must repeat it). */
  redirectUriExplicit: z.boolean(),
  state: z.string().optional(),
  codeChallenge: z.string(),
  scopes: z.array(z.string()),
  resource: z.string(),
  consented: z.boolean(),
  /** SHA-256 of the consent-binding secret of the browser that approved (see consent-binding.ts). */
  browserHash: z.string().optional(),
  createdAt: z.number().int(),
  expiresAt: z.number().int(),
});
export type PendingAuthorization = z.infer<typeof PendingAuthorizationSchema>;

export type NewPendingAuthorization = Omit<PendingAuthorization, 'consented' | 'browserHash' | 'createdAt' | 'expiresAt'>;

export class PendingAuthorizationModel {
  private readonly records: JsonRecords<typeof PendingAuthorizationSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, PendingAuthorizationSchema);
  }

  async create(request: NewPendingAuthorization): Promise<string> {
    const id = newSecret('mcp_pa_');
    const now = Date.now();
    const record: PendingAuthorization = {
      ...request,
      consented: false,
      createdAt: now,
      expiresAt: now + PENDING_AUTHORIZATION_TTL_S * 1000,
    };
    await this.records.put(authKeys.pending(sha256(id)), record, PENDING_AUTHORIZATION_TTL_S * 1000);
    return id;
  }

  find(id: string): Promise<PendingAuthorization | undefined> {
    return this.records.get(authKeys.pending(sha256(id)));
  }

  /** Approved, by the browser whose consent-binding secret has this hash. */
  async markConsented(id: string, record: PendingAuthorization, browserHash: string): Promise<void> {
    await this.records.put(authKeys.pending(sha256(id)), { ...record, consented: true, browserHash }, remainingMs(record.expiresAt));
  }

  /** True for the one caller that completes this authorization; every later call gets false. */
  claim(id: string, record: PendingAuthorization): Promise<boolean> {
    return this.records.claim(authKeys.pendingUsed(sha256(id)), '1', remainingMs(record.expiresAt));
  }

  async remove(id: string): Promise<void> {
    await this.records.del(authKeys.pending(sha256(id)));
  }
}
