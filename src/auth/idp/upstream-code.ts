import { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { UPSTREAM_CODE_TTL_S } from '../constants.js';
import { newSecret, sha256 } from '../crypto.js';
import { JsonRecords } from '../models/json-records.js';
import { authKeys } from '../../protocol/auth-keys.js';

/**
 * A code of the fake upstream IdP: minted when its page is shown, bound to the
 * `state` it was shown for, redeemable once. (A real IdP would hand it to our
 * authorization server's callback, which exchanges it for the user's identity.)
 */
const UpstreamCodeSchema = z.object({
  stateHash: z.string(),
  issuedAt: z.number().int(),
});

export class UpstreamCodeModel {
  private readonly records: JsonRecords<typeof UpstreamCodeSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, UpstreamCodeSchema);
  }

  async issue(state: string): Promise<string> {
    const code = newSecret('fake_up_');
    await this.records.put(authKeys.upstreamCode(sha256(code)), { stateHash: sha256(state), issuedAt: Date.now() }, UPSTREAM_CODE_TTL_S * 1000);
    return code;
  }

  /** True once for a code issued for this very state; false for anything else or any later call. */
  async redeem(code: string, state: string): Promise<boolean> {
    const hash = sha256(code);
    const record = await this.records.get(authKeys.upstreamCode(hash));
    if (!record || record.stateHash !== sha256(state)) return false;
    if (!(await this.records.claim(authKeys.upstreamCodeUsed(hash), '1', UPSTREAM_CODE_TTL_S * 1000))) return false;
    await this.records.del(authKeys.upstreamCode(hash));
    return true;
  }
}
