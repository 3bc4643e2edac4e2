import express, { type RequestHandler, type Router } from 'express';
import type { AuthUrls } from '../urls.js';
import { authorizationResponseUrl } from '../server/authorization-response.js';
import { sameBrowser } from '../server/consent-binding.js';
import type { AuthorizationCodeModel } from '../models/authorization-code.js';
import type { PendingAuthorizationModel } from '../models/pending-authorization.js';
import { noStoreAndMethodAllowed, sendOAuthError } from '../server/oauth-errors.js';
import { readParam } from '../server/params.js';

/** What the authorization server needs from the upstream IdP: to redeem the code it issued for a state. */
export interface UpstreamIdentityProvider {
  redeem(code: string, state: string): Promise<boolean>;
}

/** User ids the fake IdP accepts: what its page allows, and nothing that needs escaping in a header or log. */
export const USER_ID = /^[A-Za-z0-9._@+-]{1,128}$/;

/**
 * GET /fakeupstreamauth/callback?state=…&code=…&userId=… — our authorization
 * server's callback from the fake upstream IdP (the IdP page's form lands here;
 * a script may call it directly). It completes the pending authorization named
 * by `state` exactly once: the upstream code must have been issued for that
 * state and not used, the request must not have been completed already, and
 * the browser must be the one that approved it (its consent-binding cookie), so
 * a callback can be neither replayed, nor re-bound to another user, nor
 * completed by someone other than the approver. Then the client gets its code,
 * its state and our `iss`.
 */
export function upstreamCallbackEndpoint(deps: {
  pending: PendingAuthorizationModel;
  codes: AuthorizationCodeModel;
  upstream: UpstreamIdentityProvider;
  urls: AuthUrls;
  limiter: RequestHandler;
}): Router {
  const router = express.Router();
  const secure = deps.urls.issuer.startsWith('https:');
  router.use(deps.limiter);
  router.all('/', async (req, res, next) => {
    if (!noStoreAndMethodAllowed(req, res, 'GET')) return;
    const params = { state: readParam(req.query, 'state'), code: readParam(req.query, 'code'), userId: readParam(req.query, 'userId') };
    for (const [name, param] of Object.entries(params)) {
      if (param.kind !== 'value') {
        sendOAuthError(res, 400, 'invalid_request', param.kind === 'repeated' ? `${name} was sent more than once` : `${name} is required`);
        return;
      }
    }
    const state = (params.state as { value: string }).value;
    const code = (params.code as { value: string }).value;
    const userId = (params.userId as { value: string }).value;
    if (!USER_ID.test(userId)) {
      sendOAuthError(res, 400, 'invalid_request', 'userId must be 1 to 128 letters, digits or . _ @ + -');
      return;
    }
    try {
      const record = await deps.pending.find(state);
      if (!record || !record.consented) {
        sendOAuthError(res, 400, 'invalid_request', 'Unknown, expired or already completed authorization request');
        return;
      }
      // Checked before the upstream code is redeemed: a refusal here burns nothing.
      if (!sameBrowser(req, secure, record.browserHash)) {
        sendOAuthError(res, 400, 'invalid_request', 'This authorization request was not approved in this browser; start again from the application');
        return;
      }
      if (!(await deps.upstream.redeem(code, state))) {
        sendOAuthError(res, 400, 'invalid_grant', 'The upstream code is invalid, expired, already used, or was issued for another request');
        return;
      }
      if (!(await deps.pending.claim(state, record))) {
        sendOAuthError(res, 400, 'invalid_request', 'This authorization request was already completed');
        return;
      }
      const authorizationCode = await deps.codes.issue({
        clientId: record.clientId,
        userId,
        redirectUri: record.redirectUri,
        redirectUriExplicit: record.redirectUriExplicit,
        codeChallenge: record.codeChallenge,
        scopes: record.scopes,
        resource: record.resource,
      });
      await deps.pending.remove(state);
      res.redirect(302, authorizationResponseUrl(record.redirectUri, deps.urls.issuer, { code: authorizationCode, state: record.state }));
    } catch (error) {
      next(error);
    }
  });
  return router;
}
