import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TemporarilyUnavailableError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { AuthUnavailableError } from '../token-lookup.js';
import { SUPPORTED_SCOPES } from '../constants.js';
import type { AuthUrls } from '../urls.js';
import type { ClientRecord } from '../models/client.js';
import type { AuthorizationServerProvider } from './provider.js';
import type { TokenService } from './token-service.js';

/** The server's own pages sign their users in as this client. */
export const FIRST_PARTY_CLIENT_ID = 'mcp-everything-my-sessions';

/** Where the authorization server sends the browser back to (under BASE_URI). */
export const FIRST_PARTY_CALLBACK_PATH = '/my/callback';

/** Why a browser's sign-in did not complete; the message is safe to show. */
export class SignInFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInFailed';
  }
}

/**
 * The built-in public client of the "my sessions" page: registered nowhere
 * (the clients store knows it), authorization code with PKCE, its one
 * redirect URI on this server.
 */
export function firstPartyClient(urls: AuthUrls): ClientRecord {
  return {
    client_id: FIRST_PARTY_CLIENT_ID,
    client_id_issued_at: 0,
    token_endpoint_auth_method: 'none',
    redirect_uris: [`${urls.issuer}${FIRST_PARTY_CALLBACK_PATH}`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    client_name: 'My sessions (this server)',
    scope: SUPPORTED_SCOPES.join(' '),
    expires_at: Number.MAX_SAFE_INTEGER,
  };
}

/**
 * Signs a browser in through this server's own authorization server and fake
 * IdP, as an OAuth client would, with the same code, PKCE and redirect checks:
 * `begin` gives the /authorize URL and what the browser must bring back;
 * `complete` redeems the code in-process (the page needs only who the user
 * is, so the token is revoked at once) and returns the user id.
 */
export class FirstPartySignIn {
  private readonly client: ClientRecord;

  constructor(
    private readonly provider: AuthorizationServerProvider,
    private readonly tokens: TokenService,
    private readonly urls: AuthUrls,
  ) {
    this.client = firstPartyClient(urls);
  }

  begin(): { location: string; state: string; verifier: string } {
    const state = randomBytes(24).toString('base64url');
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: this.client.client_id,
      redirect_uri: this.client.redirect_uris[0]!,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: this.client.scope!,
      resource: this.urls.resource,
      state,
    });
    return { location: `${this.urls.authorize}?${query}`, state, verifier };
  }

  /** The signed-in user's id, or SignInFailed (denied, wrong state or issuer, bad code). */
  async complete(params: Record<string, string | undefined>, expected: { state: string; verifier: string }): Promise<string> {
    if (params.state === undefined || !sameText(params.state, expected.state)) throw new SignInFailed('The sign-in state does not match; start again');
    if (params.iss !== undefined && params.iss !== this.urls.issuer) throw new SignInFailed('The response came from another issuer');
    if (params.error !== undefined) throw new SignInFailed(params.error === 'access_denied' ? 'Sign-in was denied' : 'Sign-in failed');
    if (!params.code) throw new SignInFailed('The authorization server sent no code');
    const client = { ...this.client, client_secret: undefined };
    try {
      const challenge = await this.provider.challengeForAuthorizationCode(client, params.code);
      if (!sameText(createHash('sha256').update(expected.verifier).digest('base64url'), challenge)) throw new SignInFailed('PKCE verification failed');
      const issued = await this.provider.exchangeAuthorizationCode(client, params.code, expected.verifier, this.client.redirect_uris[0], new URL(this.urls.resource));
      const found = await this.tokens.lookup(issued.access_token);
      if (!found.active) throw new SignInFailed('The issued token is not active');
      if (found.grantId) await this.tokens.revokeGrant(found.grantId, 'first-party sign-in completed');
      return found.userId;
    } catch (error) {
      if (error instanceof SignInFailed || error instanceof AuthUnavailableError) throw error;
      if (error instanceof TemporarilyUnavailableError) throw new AuthUnavailableError(error.message);
      throw new SignInFailed('The authorization code is invalid or expired; start again');
    }
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
