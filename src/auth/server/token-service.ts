import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { KeyValueStore } from '../../store/kv.js';
import type { Logger } from '../../observability/logger.js';
import { ACCESS_TOKEN_TTL_S } from '../constants.js';
import type { RevocationFeed } from '../revocations.js';
import type { TokenLookup, TokenLookupResult } from '../token-lookup.js';
import { AccessTokenModel, type AccessToken } from '../models/access-token.js';
import { GrantModel, type Grant } from '../models/grant.js';
import { RefreshTokenModel } from '../models/refresh-token.js';

/**
 * Issues and revokes tokens, and vouches for them (local introspection) to the
 * resource server. Every token belongs to a grant; revoking the grant revokes
 * the family, everywhere, at once.
 */
export class TokenService implements TokenLookup {
  readonly grants: GrantModel;
  readonly accessTokens: AccessTokenModel;
  readonly refreshTokens: RefreshTokenModel;

  constructor(
    kv: KeyValueStore,
    private readonly feed: RevocationFeed,
    private readonly logger: Logger,
  ) {
    this.grants = new GrantModel(kv);
    this.accessTokens = new AccessTokenModel(kv);
    this.refreshTokens = new RefreshTokenModel(kv);
  }

  /**
   * An access token, and a refresh token when the client registered the
   * refresh_token grant, in the grant's family. A refresh may
   * narrow the access token's scopes; the refresh token keeps the grant's
   * (RFC 6749 §6).
   */
  async issue(
    grant: Grant,
    scopes: string[],
    resource: string,
    options: { refresh: boolean; refreshScopes?: string[] },
  ): Promise<OAuthTokens> {
    const fields = { grantId: grant.grantId, clientId: grant.clientId, userId: grant.userId, resource };
    const [access, refresh] = await Promise.all([
      this.accessTokens.issue({ ...fields, scopes }),
      options.refresh ? this.refreshTokens.issue({ ...fields, scopes: options.refreshScopes ?? scopes }) : undefined,
    ]);
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      ...(refresh ? { refresh_token: refresh.token } : {}),
      scope: scopes.join(' '),
    };
  }

  async revokeGrant(grantId: string, reason: string): Promise<void> {
    await this.grants.remove(grantId);
    this.logger.info('grant revoked', { grantId, reason });
    await this.feed.publish({ v: 1, type: 'grant', grantId, reason });
  }

  async revokeAccessToken(token: string, record: AccessToken): Promise<void> {
    await this.accessTokens.remove(token);
    await this.feed.publish({ v: 1, type: 'access', tokenId: record.tokenId });
  }

  /** Valid while its record exists, has not expired, and its grant still stands. */
  async lookup(token: string): Promise<TokenLookupResult> {
    const record = await this.accessTokens.find(token);
    if (!record || !(await this.grants.exists(record.grantId))) return { active: false };
    return {
      active: true,
      userId: record.userId,
      clientId: record.clientId,
      scopes: record.scopes,
      expiresAt: Math.floor(record.expiresAt / 1000),
      resource: record.resource,
      tokenId: record.tokenId,
      grantId: record.grantId,
    };
  }
}
