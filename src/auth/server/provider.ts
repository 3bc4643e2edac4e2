import type { Response } from 'express';
import {
  InvalidGrantError,
  InvalidScopeError,
  InvalidTargetError,
  InvalidTokenError,
  UnauthorizedClientError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthClientInformationFull, OAuthTokenRevocationRequest, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Logger } from '../../observability/logger.js';
import { AuthUnavailableError } from '../token-lookup.js';
import type { AuthUrls } from '../urls.js';
import { redirectWithError } from './authorization-response.js';
import type { ClientsStore } from './clients-store.js';
import type { AuthorizationCodeModel } from '../models/authorization-code.js';
import type { PendingAuthorizationModel } from '../models/pending-authorization.js';
import { oauthErrors, sendOAuthError } from './oauth-errors.js';
import { sendConsentPage } from '../pages/consent-page.js';
import type { TokenService } from './token-service.js';

/** An /authorize request as actions/authorize.ts validated it (res.locals.authorizationRequest). */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  redirectUriExplicit: boolean;
  state: string | undefined;
  codeChallenge: string;
  scopes: string[];
  resource: string;
}

export interface ProviderDeps {
  clients: ClientsStore;
  pending: PendingAuthorizationModel;
  codes: AuthorizationCodeModel;
  tokens: TokenService;
  urls: AuthUrls;
  logger: Logger;
}

const REUSED_CODE = 'The authorization code was already used; every token issued for it is revoked';
const BAD_CODE = 'The authorization code is invalid, expired, or was issued to another client';
const BAD_REFRESH = 'The refresh token is invalid, expired, revoked, or was issued to another client';

/**
 * Our OAuthServerProvider for the SDK's authorization, token and revocation
 * handlers. What the SDK leaves to the provider, and what we add to it:
 * - authorize: shows the consent page (the SDK only hands over the request);
 * - codes: single use, bound to client, redirect_uri (exactly; the SDK passes
 *   it through unchecked) and resource; a replay revokes the grant it produced;
 * - refresh tokens: rotated; a reused one revokes the grant (token family);
 * - revocation: only the client a token was issued to may revoke it.
 */
export class AuthorizationServerProvider implements OAuthServerProvider {
  readonly skipLocalPkceValidation = false;

  constructor(private readonly deps: ProviderDeps) {}

  get clientsStore(): ClientsStore {
    return this.deps.clients;
  }

  async authorize(client: OAuthClientInformationFull, _params: AuthorizationParams, res: Response): Promise<void> {
    const request = res.locals.authorizationRequest as AuthorizationRequest | undefined;
    if (!request || request.clientId !== client.client_id) {
      // Unreachable: actions/authorize.ts validates every request before the SDK handler runs.
      sendOAuthError(res, 400, 'invalid_request', 'The authorization request was not validated');
      return;
    }
    const { urls } = this.deps;
    try {
      const pendingId = await this.deps.pending.create({
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        redirectUriExplicit: request.redirectUriExplicit,
        state: request.state,
        codeChallenge: request.codeChallenge,
        scopes: request.scopes,
        resource: request.resource,
      });
      sendConsentPage(res, {
        pendingId,
        clientId: client.client_id,
        clientName: client.client_name,
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        resource: request.resource,
        secure: urls.issuer.startsWith('https:'),
      });
    } catch (error) {
      if (!(error instanceof AuthUnavailableError)) throw error;
      this.deps.logger.warn('auth store unavailable at /authorize', { error: error.message });
      redirectWithError(res, request.redirectUri, urls.issuer, 'temporarily_unavailable', 'Try again shortly', request.state);
    }
  }

  challengeForAuthorizationCode(client: OAuthClientInformationFull, code: string): Promise<string> {
    return oauthErrors(async () => {
      const { codes, tokens } = this.deps;
      const usedBy = await codes.usedFor(code);
      if (usedBy) {
        // Only the code's own client revokes by replaying it: another client presenting a
        // leaked, used code (which it could not have exchanged) must not end the owner's grant.
        const grant = await tokens.grants.find(usedBy);
        if (grant && grant.clientId !== client.client_id) throw new InvalidGrantError(BAD_CODE);
        if (grant) await tokens.revokeGrant(usedBy, 'authorization code replayed');
        throw new InvalidGrantError(REUSED_CODE);
      }
      const record = await codes.find(code);
      if (!record || record.clientId !== client.client_id) throw new InvalidGrantError(BAD_CODE);
      return record.codeChallenge;
    });
  }

  exchangeAuthorizationCode(
    client: OAuthClientInformationFull,
    code: string,
    _codeVerifier?: string,
    redirectUri?: string,
    resource?: URL,
  ): Promise<OAuthTokens> {
    return oauthErrors(async () => {
      const { codes, tokens } = this.deps;
      const record = await codes.find(code);
      if (!record || record.clientId !== client.client_id) throw new InvalidGrantError(BAD_CODE);
      // OAuth 2.1 §4.1.3: required and identical when the authorization request had it.
      const redirectMatches = record.redirectUriExplicit
        ? redirectUri === record.redirectUri
        : redirectUri === undefined || redirectUri === record.redirectUri;
      if (!redirectMatches) throw new InvalidGrantError('redirect_uri does not match the one of the authorization request');
      if (resource && resource.href !== record.resource) throw new InvalidTargetError('resource does not match the authorization request');
      // The grant exists before the code is marked, so that a concurrent replay always finds something to revoke.
      const grant = await tokens.grants.create(client.client_id, record.userId);
      if (!(await codes.markUsed(code, grant.grantId))) {
        await tokens.grants.remove(grant.grantId);
        const usedBy = await codes.usedFor(code);
        if (usedBy) await tokens.revokeGrant(usedBy, 'authorization code replayed');
        throw new InvalidGrantError(REUSED_CODE);
      }
      await codes.remove(code);
      return tokens.issue(grant, record.scopes, record.resource, { refresh: usesRefreshTokens(client) });
    });
  }

  exchangeRefreshToken(
    client: OAuthClientInformationFull,
    refreshToken: string,
    scopes?: string[],
    resource?: URL,
  ): Promise<OAuthTokens> {
    return oauthErrors(async () => {
      const { tokens } = this.deps;
      if (!usesRefreshTokens(client)) throw new UnauthorizedClientError('This client did not register the refresh_token grant');
      const record = await tokens.refreshTokens.find(refreshToken);
      if (!record || record.clientId !== client.client_id) throw new InvalidGrantError(BAD_REFRESH);
      if (!(await tokens.grants.exists(record.grantId))) throw new InvalidGrantError(BAD_REFRESH);
      if (scopes && scopes.some((scope) => !record.scopes.includes(scope))) {
        throw new InvalidScopeError('The requested scope exceeds the scope of the grant');
      }
      if (resource && resource.href !== record.resource) throw new InvalidTargetError('resource does not match the grant');
      if (!(await tokens.refreshTokens.markRotated(refreshToken, record))) {
        await tokens.revokeGrant(record.grantId, 'refresh token reused');
        throw new InvalidGrantError('The refresh token was already used; every token of this grant is revoked');
      }
      await tokens.grants.extend(record.grantId);
      const grant = { grantId: record.grantId, clientId: record.clientId, userId: record.userId, createdAt: record.issuedAt };
      const accessScopes = scopes && scopes.length > 0 ? scopes : record.scopes;
      return tokens.issue(grant, accessScopes, record.resource, { refresh: true, refreshScopes: record.scopes });
    });
  }

  /** Uncached local introspection; the resource server uses its caching verifier instead. */
  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const result = await oauthErrors(() => this.deps.tokens.lookup(token));
    if (!result.active) throw new InvalidTokenError('The access token is invalid, expired or revoked');
    return {
      token,
      clientId: result.clientId,
      scopes: result.scopes,
      expiresAt: result.expiresAt,
      resource: result.resource ? new URL(result.resource) : undefined,
      extra: { userId: result.userId },
    };
  }

  /**
   * RFC 7009: an unknown token is not an error (200); a token of another client
   * is refused (invalid_grant: "issued to another client", RFC 6749 §5.2).
   * Revoking a refresh token revokes its whole grant, access tokens included.
   */
  revokeToken(client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest): Promise<void> {
    return oauthErrors(async () => {
      const { tokens } = this.deps;
      const order = request.token_type_hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const);
      for (const kind of order) {
        if (kind === 'access') {
          const record = await tokens.accessTokens.find(request.token);
          if (!record) continue;
          if (record.clientId !== client.client_id) throw new InvalidGrantError('The token was issued to another client');
          await tokens.revokeAccessToken(request.token, record);
          return;
        }
        const record = await tokens.refreshTokens.find(request.token);
        if (!record) continue;
        if (record.clientId !== client.client_id) throw new InvalidGrantError('The token was issued to another client');
        await tokens.revokeGrant(record.grantId, 'refresh token revoked by the client');
        return;
      }
    });
  }
}

/** Refresh tokens go to clients that registered the refresh_token grant (RFC 7591 grant_types). */
function usesRefreshTokens(client: OAuthClientInformationFull): boolean {
  return client.grant_types?.includes('refresh_token') ?? false;
}
