import type { RequestHandler } from 'express';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../principal.js';
import { AuthUnavailableError } from '../token-lookup.js';
import type { CachingVerifier } from './caching-verifier.js';

type Outcome = { ok: true; info: AuthInfo } | { ok: false; error: unknown };

/** The token as the SDK's requireBearerAuth reads it (same split), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [type, token] = header.split(' ');
  return type?.toLowerCase() === 'bearer' && token ? token : undefined;
}

function principalFromAuth(info: AuthInfo): Principal | undefined {
  const userId = info.extra?.userId;
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 512) return undefined;
  return { userId, clientId: info.clientId.slice(0, 512), scopes: info.scopes };
}

/**
 * Authentication of /mcp, /sse and /message: the SDK's requireBearerAuth with
 * expectedResource (RFC 8707 audience), its expiry check and its 401 challenge
 * naming the resource metadata (RFC 9728). On success, res.locals.principal is
 * the token's user, client and scopes — never the token.
 *
 * The token is verified just before the SDK middleware runs, which then only
 * judges the outcome: the SDK turns every verifier failure that is not an OAuth
 * error into a 500, where an unreachable authority must give 503 (and never a
 * 401, which would make clients drop valid tokens).
 */
export function bearerAuthentication(options: {
  verifier: CachingVerifier;
  resource: string;
  resourceMetadataUrl: string;
  logger: Logger;
}): RequestHandler {
  const { verifier, resource, resourceMetadataUrl, logger } = options;
  return async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    let outcome: Outcome | undefined;
    if (token) {
      try {
        outcome = { ok: true, info: await verifier.verifyAccessToken(token) };
      } catch (error) {
        if (error instanceof AuthUnavailableError) {
          logger.warn('token verification unavailable', { error: error.message });
          next(error); // answered 503
          return;
        }
        outcome = { ok: false, error };
      }
    }
    const judge = requireBearerAuth({
      verifier: {
        async verifyAccessToken() {
          if (!outcome) throw new Error('unreachable: requireBearerAuth verifies only a token it parsed');
          if (!outcome.ok) throw outcome.error;
          return outcome.info;
        },
      },
      expectedResource: new URL(resource),
      resourceMetadataUrl,
    });
    await judge(req, res, (error?: unknown) => {
      if (error) {
        next(error);
        return;
      }
      const principal = req.auth && principalFromAuth(req.auth);
      if (!principal) {
        res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", resource_metadata="${resourceMetadataUrl}"`);
        res.status(401).json({ error: 'invalid_token', error_description: 'The token names no user' });
        return;
      }
      res.locals.principal = principal;
      next();
    });
  };
}
