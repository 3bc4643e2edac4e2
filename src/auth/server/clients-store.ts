import { randomUUID } from 'node:crypto';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import { InvalidClientMetadataError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { CLIENT_TTL_S, SUPPORTED_SCOPES } from '../constants.js';
import { sha256 } from '../crypto.js';
import { CLIENT_AUTH_METHODS, ClientModel, type ClientAuthMethod, type ClientRecord } from '../models/client.js';
import { oauthErrors } from './oauth-errors.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** RFC 8252 §7.1 private-use schemes are reverse domain names: they contain a dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;
const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;
const MAX_TEXT_LENGTH = 200;
/**
 * Characters that make a value display differently from what it is: C0/C1
 * controls and the bidirectional marks and overrides. The consent page shows
 * the client's name and redirect URI; what it shows must be what they are.
 */
const DECEPTIVE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Why a redirect URI cannot be registered, or undefined when it can (OAuth 2.1 §2.3, RFC 8252). */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_URI_LENGTH) return 'is too long';
  // The URL parser drops tabs and newlines and trims spaces: the browser would go elsewhere than the consent page shows.
  if (/\s/.test(value) || DECEPTIVE.test(value)) return 'must not contain whitespace, control or bidirectional characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.hash || value.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain user information';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'must use https (http is allowed for loopback hosts only)';
  if (PRIVATE_USE_SCHEME.test(url.protocol)) return undefined;
  return 'must use https, http on a loopback host, or a private-use (reverse domain) scheme';
}

/**
 * Registered clients (RFC 7591), for the SDK's registration, authorization,
 * token and revocation handlers. The SDK compares client secrets in clear
 * (`client.client_secret !== client_secret`) and we keep only their hash, so
 * getClient() hands the SDK clients without a secret and our own client
 * authentication (actions/client-auth.ts) runs before its handlers.
 */
export class ClientsStore implements OAuthRegisteredClientsStore {
  /** `builtIn`: the server's own clients (never stored, never expiring), found before the registered ones. */
  constructor(
    readonly model: ClientModel,
    private readonly builtIn: readonly ClientRecord[] = [],
  ) {}

  /** For the SDK's handlers, which answer 500 to anything but an OAuthError: a store failure is temporarily_unavailable. */
  getClient(clientId: string): Promise<OAuthClientInformationFull | undefined> {
    return oauthErrors(async () => {
      const record = await this.findRecord(clientId);
      return record ? publicView(record) : undefined;
    });
  }

  async findRecord(clientId: string): Promise<ClientRecord | undefined> {
    return this.builtIn.find((client) => client.client_id === clientId) ?? this.model.find(clientId);
  }

  /**
   * Checks what the SDK's schema lets through (any auth method, grant type,
   * response type, redirect scheme, length), stores the secret as a hash and
   * returns the full registration, secret included, for the 201 response.
   */
  registerClient(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>): Promise<OAuthClientInformationFull> {
    return oauthErrors(() => this.register(client));
  }

  private async register(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>): Promise<OAuthClientInformationFull> {
    const given = client as Partial<OAuthClientInformationFull>;
    const method = (client.token_endpoint_auth_method ?? 'client_secret_basic') as ClientAuthMethod;
    if (!CLIENT_AUTH_METHODS.includes(method)) {
      throw new InvalidClientMetadataError(`token_endpoint_auth_method must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
    }
    const redirectUris = client.redirect_uris;
    if (redirectUris.length === 0 || redirectUris.length > MAX_REDIRECT_URIS) {
      throw new InvalidClientMetadataError(`redirect_uris must list 1 to ${MAX_REDIRECT_URIS} URIs`);
    }
    for (const uri of redirectUris) {
      const problem = redirectUriProblem(uri);
      if (problem) throw new InvalidClientMetadataError(`redirect_uri ${JSON.stringify(uri.slice(0, 100))} ${problem}`);
    }
    // Stored once each, in a fixed order: a registration's size is bounded by its meaning.
    const grantTypes = [...new Set(client.grant_types ?? ['authorization_code'])];
    if (!grantTypes.includes('authorization_code') || grantTypes.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
      throw new InvalidClientMetadataError('grant_types must include authorization_code and may add refresh_token only');
    }
    const responseTypes = client.response_types ?? ['code'];
    if (responseTypes.length !== 1 || responseTypes[0] !== 'code') {
      throw new InvalidClientMetadataError('response_types must be ["code"]');
    }
    let scope: string | undefined;
    if (client.scope !== undefined) {
      const requested = [...new Set(client.scope.split(' ').filter(Boolean))];
      const unknown = requested.filter((s) => !(SUPPORTED_SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) throw new InvalidClientMetadataError(`unknown scope: ${unknown.join(' ').slice(0, 100)}`);
      scope = requested.length > 0 ? requested.join(' ') : undefined;
    }
    for (const [name, value] of Object.entries({ client_name: client.client_name, software_id: client.software_id, software_version: client.software_version })) {
      if (value !== undefined && value.length > MAX_TEXT_LENGTH) throw new InvalidClientMetadataError(`${name} is longer than ${MAX_TEXT_LENGTH} characters`);
      if (value !== undefined && DECEPTIVE.test(value)) throw new InvalidClientMetadataError(`${name} must not contain control or bidirectional characters`);
    }
    for (const [name, value] of Object.entries({ client_uri: client.client_uri, logo_uri: client.logo_uri, tos_uri: client.tos_uri, policy_uri: client.policy_uri })) {
      if (value !== undefined && value.length > MAX_URI_LENGTH) throw new InvalidClientMetadataError(`${name} is too long`);
    }
    if (client.contacts && (client.contacts.length > 10 || client.contacts.some((c) => c.length > MAX_TEXT_LENGTH))) {
      throw new InvalidClientMetadataError('contacts: at most 10 entries of 200 characters');
    }
    if (method !== 'none' && !client.client_secret) {
      throw new InvalidClientMetadataError('a confidential client needs a secret');
    }

    const issuedAt = given.client_id_issued_at ?? Math.floor(Date.now() / 1000);
    const expiresAtS = issuedAt + CLIENT_TTL_S;
    const record: ClientRecord = {
      client_id: given.client_id ?? randomUUID(),
      client_id_issued_at: issuedAt,
      ...(method === 'none' ? {} : { client_secret_hash: sha256(client.client_secret!), client_secret_expires_at: expiresAtS }),
      token_endpoint_auth_method: method,
      redirect_uris: redirectUris,
      grant_types: grantTypes,
      response_types: responseTypes,
      client_name: client.client_name,
      client_uri: client.client_uri,
      logo_uri: client.logo_uri,
      scope,
      contacts: client.contacts,
      tos_uri: client.tos_uri,
      policy_uri: client.policy_uri,
      software_id: client.software_id,
      software_version: client.software_version,
      expires_at: expiresAtS * 1000,
    };
    await this.model.save(record);
    return {
      ...publicView(record),
      ...(method === 'none' ? {} : { client_secret: client.client_secret, client_secret_expires_at: expiresAtS }),
    };
  }
}

/** The registration as the SDK and the client see it: everything but the secret's hash. */
function publicView(record: ClientRecord): OAuthClientInformationFull {
  const { client_secret_hash: _hash, expires_at: _expires, ...view } = record;
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined)) as OAuthClientInformationFull;
}
