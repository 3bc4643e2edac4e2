import type { Request, Response } from 'express';
import { PENDING_AUTHORIZATION_TTL_S } from '../constants.js';
import { newSecret, sameDigest, sha256 } from '../crypto.js';

/**
 * Binds an approved authorization request to the browser that approved it.
 *
 * Consent comes before the (fake) upstream IdP, so without a binding whoever
 * approves a request need not be whoever completes it: an attacker could start
 * an authorization for their own client, approve it in their own browser, and
 * send a victim the IdP page; the victim's "Continue" would then deliver a code
 * for the victim's identity to the attacker's redirect URI, the victim never
 * having seen a consent page. So /consent gives the approving browser a secret
 * in an HttpOnly cookie (reused for the browser's later approvals, so that
 * several can run at once), the pending request keeps only its hash, and the
 * IdP callback completes the request only when the cookie it receives matches.
 *
 * Over https the cookie has the __Host- prefix (Secure, Path=/, no Domain), so
 * that no sibling host can plant one. A script walking the flow keeps the
 * cookie like a browser (`curl -c jar -b jar`).
 */
const SECRET = /^mcp_cb_[A-Za-z0-9_-]{43}$/;

export function consentCookieName(secure: boolean): string {
  return secure ? '__Host-mcp-consent' : 'mcp-consent';
}

/** The binding secret the browser sent, if it is well-formed (the first of that name: no ambiguity). */
export function presentedBinding(req: Request, secure: boolean): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  const name = consentCookieName(secure);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return SECRET.test(value) ? value : undefined;
  }
  return undefined;
}

/** At approval: the browser's binding (the one it has, or a new one), set again on the response. Returns its hash. */
export function bindBrowser(req: Request, res: Response, secure: boolean): string {
  const secret = presentedBinding(req, secure) ?? newSecret('mcp_cb_');
  res.cookie(consentCookieName(secure), secret, {
    httpOnly: true,
    secure,
    sameSite: 'lax',
    path: '/',
    maxAge: PENDING_AUTHORIZATION_TTL_S * 1000,
  });
  return sha256(secret);
}

/** At the callback: does this browser hold the binding of the request it completes? */
export function sameBrowser(req: Request, secure: boolean, browserHash: string | undefined): boolean {
  const secret = presentedBinding(req, secure);
  return secret !== undefined && browserHash !== undefined && sameDigest(sha256(secret), browserHash);
}

/**
 * Is this POST from a page of another origin? /consent must come from our own
 * consent page. The global Origin check lets through every origin CORS allows
 * (by default any http://localhost:* page, for browser MCP clients), which is
 * right for /mcp and wrong for a consent. Sec-Fetch-Site decides when the
 * browser sends it; otherwise the Origin must name this very host. Requests
 * without either (scripts) are not cross-site.
 */
export function crossSitePost(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (req.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}
