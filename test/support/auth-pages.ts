/** Checks for our three HTML pages: helmet's headers, plus their own strict CSP with a nonce. */

/**
 * helmet's headers, except the two the pages replace (a stricter CSP; a same-origin referrer policy, so
 * that their own form posts keep their Origin), and the pages' CSP; returns the nonce.
 */
export function expectPageHeaders(headers: Headers): string {
  expect(headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(headers.get('referrer-policy')).toBe('same-origin');
  expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(headers.get('x-powered-by')).toBeNull();
  expect(headers.get('cache-control')).toBe('no-store');
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp).toMatch(/(^|; )default-src 'none'(;|$)/);
  expect(csp).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
  expect(csp).toMatch(/(^|; )base-uri 'none'(;|$)/);
  expect(csp).not.toContain('unsafe-inline');
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
  expect(nonce).toEqual(expect.any(String));
  return nonce!;
}
