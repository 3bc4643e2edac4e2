import type { Request, RequestHandler } from 'express';
import { sameDigest, sha256 } from '../crypto.js';
import type { ClientsStore } from '../server/clients-store.js';
import type { ClientAuthMethod, ClientRecord } from '../models/client.js';
import { sendOAuthError } from '../server/oauth-errors.js';
import { repeatedParams } from '../server/params.js';

type ClientAuthResult = { ok: true; client: ClientRecord } | { ok: false; description: string; basic: boolean };

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

async function authenticate(req: Request, clients: ClientsStore): Promise<ClientAuthResult> {
  const body = req.body as Record<string, string>;
  const header = req.headers.authorization;
  let method: ClientAuthMethod;
  let clientId: string | undefined;
  let secret: string | undefined;
  if (header !== undefined) {
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 1) return { ok: false, description: 'The Authorization header is not valid HTTP Basic client authentication', basic: true };
    clientId = formDecode(decoded.slice(0, colon));
    secret = formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || secret === undefined) return { ok: false, description: 'Malformed Basic credentials', basic: true };
    if (body.client_secret !== undefined) return { ok: false, description: 'Use one client authentication method, not two', basic: true };
    if (body.client_id !== undefined && body.client_id !== clientId) return { ok: false, description: 'client_id differs from the Basic credentials', basic: true };
    method = 'client_secret_basic';
  } else if (body.client_secret !== undefined) {
    method = 'client_secret_post';
    clientId = body.client_id;
    secret = body.client_secret;
  } else {
    method = 'none';
    clientId = body.client_id;
  }
  const basic = method === 'client_secret_basic';
  if (clientId === undefined) return { ok: false, description: 'Client authentication is required (client_id)', basic };
  const client = await clients.findRecord(clientId);
  if (!client) return { ok: false, description: 'Unknown client', basic };
  if (client.token_endpoint_auth_method !== method) {
    return { ok: false, description: `This client must authenticate with ${client.token_endpoint_auth_method}`, basic };
  }
  if (method !== 'none') {
    if (!client.client_secret_hash || !sameDigest(sha256(secret!), client.client_secret_hash)) {
      return { ok: false, description: 'Client authentication failed', basic };
    }
    if (client.client_secret_expires_at && client.client_secret_expires_at < Math.floor(Date.now() / 1000)) {
      return { ok: false, description: 'The client secret has expired', basic };
    }
  }
  return { ok: true, client };
}

/**
 * Client authentication for /token and /revoke, ahead of the SDK's handlers.
 * The SDK's own authenticateClient compares secrets in clear, knows only
 * client_secret_post and answers 400; this one checks the stored hash in
 * constant time, supports client_secret_basic, holds each client to the method
 * it registered, and answers invalid_client with 401 (RFC 6749 §5.2). It also
 * refuses repeated parameters and treats empty ones as absent (§3.1). On
 * success the SDK sees the client id in the body and no secret, which its own
 * check (on a client record without secret) then lets through.
 */
export function clientAuthentication(clients: ClientsStore): RequestHandler {
  return async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!req.is('application/x-www-form-urlencoded') || typeof req.body !== 'object' || req.body === null) {
      sendOAuthError(res, 400, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
      return;
    }
    const body = req.body as Record<string, unknown>;
    const repeated = repeatedParams(body);
    if (repeated.length > 0) {
      sendOAuthError(res, 400, 'invalid_request', `${repeated[0]} was sent more than once`);
      return;
    }
    for (const [name, value] of Object.entries(body)) if (value === '') delete body[name];
    try {
      const result = await authenticate(req, clients);
      if (!result.ok) {
        if (result.basic) res.setHeader('WWW-Authenticate', 'Basic realm="oauth", charset="UTF-8"');
        sendOAuthError(res, 401, 'invalid_client', result.description);
        return;
      }
      body.client_id = result.client.client_id;
      delete body.client_secret;
      res.locals.oauthClient = result.client;
      next();
    } catch (error) {
      next(error);
    }
  };
}
