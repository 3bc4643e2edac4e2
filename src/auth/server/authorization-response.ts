import type { Response } from 'express';

/**
 * The client's redirect URI with the authorization response: `code` and `state`,
 * or `error`, plus `iss` (RFC 9207) on every response, success or error.
 */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.href;
}

export function redirectWithError(
  res: Response,
  redirectUri: string,
  issuer: string,
  error: string,
  description: string,
  state: string | undefined,
  status: 302 | 303 = 302,
): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(status, authorizationResponseUrl(redirectUri, issuer, { error, error_description: description, state }));
}
