import express, { type RequestHandler, type Router } from 'express';
import type { AuthUrls } from '../urls.js';
import { redirectWithError } from '../server/authorization-response.js';
import type { PendingAuthorizationModel } from '../models/pending-authorization.js';
import { bindBrowser, crossSitePost, sameBrowser } from '../server/consent-binding.js';
import { noStoreAndMethodAllowed, sendOAuthError } from '../server/oauth-errors.js';
import { single } from '../server/params.js';

/** Where the consent page sends an approved request: the fake upstream IdP, with our request id as its state. */
export const IDP_AUTHORIZE_PATH = '/fakeupstreamauth/authorize';

/**
 * POST /consent, from the consent page. Approve: on to the fake upstream IdP,
 * the approving browser bound to the request (consent-binding.ts). Deny: back
 * to the client with access_denied. The request id in the form is 256 random
 * bits; a post from another site, even one CORS allows, is refused (403).
 */
export function consentEndpoint(deps: { pending: PendingAuthorizationModel; urls: AuthUrls; limiter: RequestHandler }): Router {
  const router = express.Router();
  const secure = deps.urls.issuer.startsWith('https:');
  router.use(deps.limiter);
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.all('/', async (req, res, next) => {
    if (!noStoreAndMethodAllowed(req, res, 'POST')) return;
    if (crossSitePost(req)) {
      sendOAuthError(res, 403, 'invalid_request', 'Consent must be given on the consent page of this server');
      return;
    }
    const pendingId = single(req.body, 'pending');
    const decision = single(req.body, 'decision');
    if (pendingId === undefined || (decision !== 'approve' && decision !== 'deny')) {
      sendOAuthError(res, 400, 'invalid_request', 'pending (once) and decision=approve|deny are required');
      return;
    }
    try {
      const record = await deps.pending.find(pendingId);
      if (!record) {
        sendOAuthError(res, 400, 'invalid_request', 'Unknown or expired authorization request; start again from the application');
        return;
      }
      // Once approved, the request is that browser's: nobody else may rebind it to themselves or deny it.
      if (record.consented && !sameBrowser(req, secure, record.browserHash)) {
        sendOAuthError(res, 400, 'invalid_request', 'This authorization request was already approved in another browser');
        return;
      }
      if (decision === 'deny') {
        await deps.pending.remove(pendingId);
        redirectWithError(res, record.redirectUri, deps.urls.issuer, 'access_denied', 'The user denied the request', record.state, 303);
        return;
      }
      await deps.pending.markConsented(pendingId, record, bindBrowser(req, res, secure));
      res.redirect(303, `${IDP_AUTHORIZE_PATH}?state=${encodeURIComponent(pendingId)}`);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
