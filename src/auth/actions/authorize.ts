import express, { type RequestHandler, type Router } from 'express';
import { authorizationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/authorize.js';
import { SUPPORTED_SCOPES } from '../constants.js';
import type { AuthUrls } from '../urls.js';
import { redirectWithError } from '../server/authorization-response.js';
import type { ClientsStore } from '../server/clients-store.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import { sendRedirectUriErrorPage } from '../pages/error-page.js';
import { readParam, single } from '../server/params.js';
import type { AuthorizationRequest, AuthorizationServerProvider } from '../server/provider.js';

const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 2048;
const PHASE_TWO_PARAMS = ['response_type', 'code_challenge', 'code_challenge_method', 'scope', 'resource'];

/**
 * GET/POST /authorize. The SDK's authorizationHandler dispatches to our
 * provider, but on its own it: accepts a loopback redirect_uri on any port
 * (RFC 8252 §7.3) where we require an exact match; answers an unregistered
 * redirect_uri with JSON where a user agent needs a page; sends error redirects
 * without RFC 9207 `iss`; calls a missing code_challenge_method a generic parse
 * error; and checks neither scope nor resource. So every request passes
 * checkAuthorizationRequest first, which answers every failure itself; the SDK
 * handler then only sees requests that are valid.
 */
export function authorizationEndpoint(deps: {
  provider: AuthorizationServerProvider;
  clients: ClientsStore;
  urls: AuthUrls;
  limiter: RequestHandler;
}): Router {
  const router = express.Router();
  router.use(deps.limiter);
  router.use(express.urlencoded({ extended: false, limit: '64kb' }));
  router.all('/', checkAuthorizationRequest(deps.clients, deps.urls));
  router.use(authorizationHandler({ provider: deps.provider, rateLimit: false }));
  return router;
}

function checkAuthorizationRequest(clients: ClientsStore, urls: AuthUrls): RequestHandler {
  const secure = urls.issuer.startsWith('https:');
  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      next(); // the SDK handler answers 405
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    const source: unknown = req.method === 'POST' ? req.body : req.query;
    try {
      // Phase 1: until the redirect URI is verified, errors are answered here, never redirected.
      const clientIdParam = readParam(source, 'client_id');
      if (clientIdParam.kind !== 'value') {
        sendOAuthError(res, 400, 'invalid_request', clientIdParam.kind === 'repeated' ? 'client_id was sent more than once' : 'client_id is required');
        return;
      }
      const client = await clients.findRecord(clientIdParam.value);
      if (!client) {
        sendOAuthError(res, 400, 'invalid_client', 'Unknown client_id');
        return;
      }
      const redirectParam = readParam(source, 'redirect_uri');
      let redirectUri: string;
      if (redirectParam.kind === 'repeated') {
        sendRedirectUriErrorPage(res, 'redirect_uri was sent more than once.', secure);
        return;
      } else if (redirectParam.kind === 'missing') {
        if (client.redirect_uris.length !== 1) {
          sendRedirectUriErrorPage(res, 'redirect_uri is required: this client registered several.', secure);
          return;
        }
        redirectUri = client.redirect_uris[0]!;
      } else if (client.redirect_uris.includes(redirectParam.value)) {
        redirectUri = redirectParam.value;
      } else {
        sendRedirectUriErrorPage(res, `redirect_uri ${redirectParam.value} is not registered for this client; it must equal a registered URI exactly.`, secure);
        return;
      }

      // Phase 2: errors go back to the verified redirect URI, with state and iss.
      const stateParam = readParam(source, 'state');
      const state = stateParam.kind === 'value' && stateParam.value.length <= MAX_STATE_LENGTH ? stateParam.value : undefined;
      const fail = (error: string, description: string) => redirectWithError(res, redirectUri, urls.issuer, error, description, state);
      if (stateParam.kind === 'repeated') return fail('invalid_request', 'state was sent more than once');
      if (stateParam.kind === 'value' && state === undefined) return fail('invalid_request', `state is longer than ${MAX_STATE_LENGTH} characters`);
      const repeated = PHASE_TWO_PARAMS.find((name) => readParam(source, name).kind === 'repeated');
      if (repeated) return fail('invalid_request', `${repeated} was sent more than once`);

      const responseType = single(source, 'response_type');
      if (responseType === undefined) return fail('invalid_request', 'response_type is required');
      if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported');

      const challenge = single(source, 'code_challenge');
      const method = single(source, 'code_challenge_method');
      if (challenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE)');
      if (method !== 'S256') {
        return fail('invalid_request', method === undefined
          ? 'code_challenge_method is required and must be S256 (plain is not supported)'
          : 'code_challenge_method must be S256 (plain is not supported)');
      }
      if (!CODE_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be the 43-character base64url SHA-256 of the code verifier');

      const supported = SUPPORTED_SCOPES as readonly string[];
      const allowed = client.scope ? client.scope.split(' ').filter((s) => supported.includes(s)) : [...supported];
      const scopeParam = single(source, 'scope');
      const requested = scopeParam === undefined ? [] : [...new Set(scopeParam.split(' ').filter(Boolean))];
      const refused = requested.filter((scope) => !allowed.includes(scope));
      if (refused.length > 0) return fail('invalid_scope', `Scope not available to this client: ${refused.join(' ').slice(0, 100)}`);
      const scopes = requested.length > 0 ? requested : allowed;

      const resource = single(source, 'resource') ?? urls.resource;
      if (resource !== urls.resource) return fail('invalid_target', `This authorization server issues tokens for ${urls.resource} only`);

      const request: AuthorizationRequest = {
        clientId: client.client_id,
        redirectUri,
        redirectUriExplicit: redirectParam.kind === 'value',
        state,
        codeChallenge: challenge,
        scopes,
        resource,
      };
      res.locals.authorizationRequest = request;
      next();
    } catch (error) {
      next(error);
    }
  };
}
