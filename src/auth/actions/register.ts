import express, { type RequestHandler, type Router } from 'express';
import { clientRegistrationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/register.js';
import { CLIENT_TTL_S } from '../constants.js';
import type { ClientsStore } from '../server/clients-store.js';

/**
 * POST /register (RFC 7591), public and confidential clients: the SDK's handler
 * (id and secret generation, 201 response); ClientsStore.registerClient adds the
 * checks it lacks and stores the secret as a hash.
 */
export function registrationEndpoint(deps: { clients: ClientsStore; limiter: RequestHandler }): Router {
  const router = express.Router();
  router.use(deps.limiter);
  router.use(clientRegistrationHandler({ clientsStore: deps.clients, rateLimit: false, clientSecretExpirySeconds: CLIENT_TTL_S }));
  return router;
}
