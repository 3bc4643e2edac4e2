import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../protocol/envelopes.js';

export type { Principal };

/**
 * The seam between authentication and everything else: each request carries a
 * principal (who is asking). Sessions belong to principal.userId. The bearer
 * authentication of /mcp, /sse and /message (resource/authenticate.ts) sets it
 * from the verified token; with AUTH_MODE=none every request is the one
 * anonymous user.
 */
export const ANONYMOUS: Principal = Object.freeze({ userId: 'anonymous', clientId: 'anonymous', scopes: [] as string[] });

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('no principal attached to this request');
  return principal;
}

export function attachAnonymousPrincipal(_req: Request, res: Response, next: NextFunction): void {
  res.locals.principal = ANONYMOUS;
  next();
}
