import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from '../../observability/logger.js';
import type { KeyValueStore } from '../../store/kv.js';
import { FakeUpstreamIdp } from '../idp/fake-idp.js';
import { FirstPartySignIn, firstPartyClient } from './first-party-sign-in.js';
import type { RevocationFeed } from '../revocations.js';
import type { AuthUrls } from '../urls.js';
import { ClientsStore } from './clients-store.js';
import { authorizationEndpoint } from '../actions/authorize.js';
import { consentEndpoint } from '../actions/consent.js';
import { authorizationServerMetadata, metadataRouter, protectedResourceMetadata } from '../actions/metadata.js';
import { registrationEndpoint } from '../actions/register.js';
import { revocationEndpoint } from '../actions/revoke.js';
import { tokenEndpoint } from '../actions/token.js';
import { upstreamCallbackEndpoint } from '../actions/upstream-callback.js';
import { AuthorizationCodeModel } from '../models/authorization-code.js';
import { ClientModel } from '../models/client.js';
import { PendingAuthorizationModel } from '../models/pending-authorization.js';
import { oauthErrorHandler } from './oauth-errors.js';
import { formActionSource } from '../pages/html.js';
import { AuthorizationServerProvider } from './provider.js';
import { TokenService } from './token-service.js';

export interface AuthorizationServerLimiters {
  register: RequestHandler;
  authorize: RequestHandler;
  token: RequestHandler;
  revoke: RequestHandler;
  idp: RequestHandler;
}

export interface AuthorizationServer {
  /** Every endpoint of the authorization server and of the fake IdP, plus discovery. */
  router: Router;
  /** Local introspection, for the resource server in the same process. */
  tokens: TokenService;
  /** Signs browsers in to the server's own pages, as its built-in client. */
  signIn: FirstPartySignIn;
}

/**
 * The OAuth 2.1 authorization server (AUTH_MODE=internal) and the fake upstream
 * IdP in front of it. Separate from the resource server: the two meet only
 * through TokenService.lookup() (local introspection) and the revocation feed.
 */
export function createAuthorizationServer(deps: {
  kv: KeyValueStore;
  urls: AuthUrls;
  limiters: AuthorizationServerLimiters;
  feed: RevocationFeed;
  logger: Logger;
}): AuthorizationServer {
  const { kv, urls, limiters, feed, logger } = deps;
  const clients = new ClientsStore(new ClientModel(kv), [firstPartyClient(urls)]);
  const pending = new PendingAuthorizationModel(kv);
  const codes = new AuthorizationCodeModel(kv);
  const tokens = new TokenService(kv, feed, logger);
  const provider = new AuthorizationServerProvider({ clients, pending, codes, tokens, urls, logger });
  const secure = urls.issuer.startsWith('https:');
  const idp = new FakeUpstreamIdp(kv, {
    secure,
    limiter: limiters.idp,
    async formTargetsFor(state) {
      const record = await pending.find(state);
      const target = record && formActionSource(record.redirectUri);
      return target ? [target] : [];
    },
  });

  const router = express.Router();
  router.use(metadataRouter(urls, protectedResourceMetadata(urls, urls.issuer), authorizationServerMetadata(urls)));
  router.use('/register', registrationEndpoint({ clients, limiter: limiters.register }));
  router.use('/authorize', authorizationEndpoint({ provider, clients, urls, limiter: limiters.authorize }));
  router.use('/consent', consentEndpoint({ pending, urls, limiter: limiters.authorize }));
  router.use('/token', tokenEndpoint({ provider, clients, limiter: limiters.token }));
  router.use('/revoke', revocationEndpoint({ provider, clients, limiter: limiters.revoke }));
  router.use('/fakeupstreamauth/authorize', idp.authorizeRoute());
  router.use('/fakeupstreamauth/callback', upstreamCallbackEndpoint({ pending, codes, upstream: idp, urls, limiter: limiters.idp }));
  router.use(oauthErrorHandler(logger));
  return { router, tokens, signIn: new FirstPartySignIn(provider, tokens, urls) };
}
