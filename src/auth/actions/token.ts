import express, { type RequestHandler, type Router } from 'express';
import { tokenHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/token.js';
import type { ClientsStore } from '../server/clients-store.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import type { AuthorizationServerProvider } from '../server/provider.js';
import { clientAuthentication } from './client-auth.js';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Checks the SDK's tokenHandler leaves out: the code_verifier's syntax, and a
 * resource indicator that is an absolute URI without fragment (RFC 8707 §2).
 * Whether the verifier matches (S256) and everything else about the grant is
 * the SDK's and our provider's job.
 */
const checkTokenRequest: RequestHandler = (req, res, next) => {
  const body = req.body as Record<string, string | undefined>;
  if (body.grant_type === 'authorization_code' && body.code_verifier !== undefined && !CODE_VERIFIER.test(body.code_verifier)) {
    sendOAuthError(res, 400, 'invalid_request', 'code_verifier must be 43 to 128 unreserved characters (RFC 7636)');
    return;
  }
  if (body.resource !== undefined) {
    let valid = false;
    try {
      valid = !new URL(body.resource).hash && !body.resource.includes('#');
    } catch {
      valid = false;
    }
    if (!valid) {
      sendOAuthError(res, 400, 'invalid_target', 'resource must be an absolute URI without a fragment');
      return;
    }
  }
  next();
};

/** POST /token: authorization_code and refresh_token grants (the SDK's tokenHandler with our checks in front). */
export function tokenEndpoint(deps: { provider: AuthorizationServerProvider; clients: ClientsStore; limiter: RequestHandler }): Router {
  const router = express.Router();
  router.use(deps.limiter);
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.post('/', clientAuthentication(deps.clients), checkTokenRequest);
  router.use(tokenHandler({ provider: deps.provider, rateLimit: false }));
  return router;
}
