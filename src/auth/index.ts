import express, { type RequestHandler, type Router } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { TOKEN_CACHE_MAX_AGE_MS, TOKEN_CACHE_MAX_ENTRIES } from './constants.js';
import { attachAnonymousPrincipal } from './principal.js';
import { createLimiters } from './rate-limit/limiters.js';
import { bearerAuthentication } from './resource/authenticate.js';
import { CachingVerifier } from './resource/caching-verifier.js';
import { IntrospectionLookup } from './resource/introspection.js';
import { RevocationFeed } from './revocations.js';
import { BrowserSessionSeal } from './browser/browser-session.js';
import { createAuthorizationServer } from './server/authorization-server.js';
import type { FirstPartySignIn } from './server/first-party-sign-in.js';
import { metadataRouter, protectedResourceMetadata } from './actions/metadata.js';
import { authUrls } from './urls.js';

export interface Auth {
  /** Discovery, the authorization server and the fake IdP (as AUTH_MODE has them). */
  router: Router;
  /** Per-client rate limit of /mcp, /sse and /message. */
  mcpRateLimit: RequestHandler;
  /** Sets res.locals.principal, or answers 401/503. */
  authenticate: RequestHandler;
  /** Per-user rate limit of the same endpoints: after authenticate, which names the user. */
  mcpUserRateLimit: RequestHandler;
  /** Browsers signed in to the server's own pages (AUTH_MODE=internal only). */
  browser?: BrowserAuth;
}

/** What the "my sessions" page needs to sign a browser in and to know who it is. */
export interface BrowserAuth {
  signIn: FirstPartySignIn;
  seal: BrowserSessionSeal;
  /** Per-client rate limit of the sign-in steps (the authorization endpoint's). */
  limiter: RequestHandler;
  /** The MCP endpoints' rate limits, per address and per user (after res.locals.principal is set), shared with them. */
  perAddress: RequestHandler;
  perUser: RequestHandler;
}

/** What authorization needs from the instance: its settings, its log, and the shared store (records, revocations, limits). */
export interface AuthDeps {
  config: Config;
  logger: Logger;
  store: Pick<Store, 'bus' | 'kv' | 'redis' | 'topology'>;
}

/**
 * Authorization as AUTH_MODE says:
 * - `internal`: our authorization server and fake IdP in this process; tokens
 *   verified against the shared store and cached, revocations on the bus;
 * - `external`: tokens introspected at AUTH_SERVER_URL (RFC 7662), briefly cached;
 * - `none`: everyone is the anonymous user (local runs only: unsafe in public).
 */
export function createAuth(deps: AuthDeps): Auth {
  const { config, logger, store } = deps;
  const limiters = createLimiters(deps, { oauth: config.authMode === 'internal' });
  if (config.authMode === 'none') {
    return { router: express.Router(), mcpRateLimit: limiters.mcp, authenticate: attachAnonymousPrincipal, mcpUserRateLimit: limiters.mcpUser };
  }
  const urls = authUrls(config);
  let router: Router;
  let verifier: CachingVerifier;
  let browser: BrowserAuth | undefined;
  if (config.authMode === 'internal') {
    const feed = new RevocationFeed(store.bus, logger);
    feed.start().catch((error: Error) => logger.warn('revocation feed not subscribed; verified tokens are not cached', { error: error.message }));
    const server = createAuthorizationServer({ kv: store.kv, urls, limiters, feed, logger });
    router = server.router;
    browser = {
      signIn: server.signIn,
      seal: new BrowserSessionSeal(config.modern.requestStateKey, config.browserSessionTtlS),
      limiter: limiters.authorize,
      perAddress: limiters.mcp,
      perUser: limiters.mcpUser,
    };
    verifier = new CachingVerifier(server.tokens, { maxAgeMs: TOKEN_CACHE_MAX_AGE_MS, maxEntries: TOKEN_CACHE_MAX_ENTRIES, revocations: feed });
  } else {
    const lookup = new IntrospectionLookup({
      authServerUrl: config.authServerUrl!,
      introspectionUrl: config.introspection.url,
      clientId: config.introspection.clientId!,
      clientSecret: config.introspection.clientSecret!,
      resource: urls.resource,
      logger,
    });
    router = metadataRouter(urls, protectedResourceMetadata(urls, config.authServerUrl!));
    verifier = new CachingVerifier(lookup, { maxAgeMs: config.introspection.cacheMs, maxEntries: TOKEN_CACHE_MAX_ENTRIES });
  }
  const authenticate = bearerAuthentication({ verifier, resource: urls.resource, resourceMetadataUrl: urls.resourceMetadata, logger });
  return { router, mcpRateLimit: limiters.mcp, authenticate, mcpUserRateLimit: limiters.mcpUser, browser };
}
