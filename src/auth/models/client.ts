import { z } from 'zod';
import type { KeyValueStore } from '../../store/kv.js';
import { CLIENT_TTL_S } from '../constants.js';
import { authKeys } from '../../protocol/auth-keys.js';
import { JsonRecords, remainingMs } from './json-records.js';

export const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** A registered client (RFC 7591). The secret is stored only as its SHA-256. */
export const ClientRecordSchema = z.object({
  client_id: z.string(),
  client_id_issued_at: z.number().int(),
  client_secret_hash: z.string().optional(),
  client_secret_expires_at: z.number().int().optional(),
  token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS),
  redirect_uris: z.array(z.string()),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  client_name: z.string().optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  scope: z.string().optional(),
  contacts: z.array(z.string()).optional(),
  tos_uri: z.string().optional(),
  policy_uri: z.string().optional(),
  software_id: z.string().optional(),
  software_version: z.string().optional(),
  /** Epoch ms when the registration (and the key) expires. */
  expires_at: z.number().int(),
});
export type ClientRecord = z.infer<typeof ClientRecordSchema>;

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ClientModel {
  private readonly records: JsonRecords<typeof ClientRecordSchema>;

  constructor(kv: KeyValueStore) {
    this.records = new JsonRecords(kv, ClientRecordSchema);
  }

  static readonly ttlMs = CLIENT_TTL_S * 1000;

  async save(record: ClientRecord): Promise<void> {
    await this.records.put(authKeys.client(record.client_id), record, remainingMs(record.expires_at));
  }

  /** Client ids are UUIDs we minted; anything else is unknown without a store lookup. */
  async find(clientId: string): Promise<ClientRecord | undefined> {
    if (!CLIENT_ID.test(clientId)) return undefined;
    return this.records.get(authKeys.client(clientId));
  }
}
