import express, { type RequestHandler, type Router } from 'express';
import { revocationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/revoke.js';
import type { ClientsStore } from '../server/clients-store.js';
import type { AuthorizationServerProvider } from '../server/provider.js';
import { clientAuthentication } from './client-auth.js';

/** POST /revoke (RFC 7009): the SDK's revocationHandler behind our client authentication. */
export function revocationEndpoint(deps: { provider: AuthorizationServerProvider; clients: ClientsStore; limiter: RequestHandler }): Router {
  const router = express.Router();
  router.use(deps.limiter);
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.post('/', clientAuthentication(deps.clients));
  router.use(revocationHandler({ provider: deps.provider, rateLimit: false }));
  return router;
}
