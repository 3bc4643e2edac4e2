import type { RequestHandler } from 'express';

/** Does an Origin match an allow-list entry ('*', exact, or 'scheme://host:*' for any port)? */
export function originAllowed(origin: string, allowed: string[]): boolean {
  for (const entry of allowed) {
    if (entry === '*' || entry === origin) return true;
    if (entry.endsWith(':*')) {
      const base = entry.slice(0, -2);
      if (origin === base || (origin.startsWith(`${base}:`) && /^\d+$/.test(origin.slice(base.length + 1)))) return true;
    }
  }
  return false;
}

/** Is a Host header one we serve? Entries name a host (any port) or host:port. */
export function hostAllowed(host: string | undefined, allowed: string[]): boolean {
  if (allowed.includes('*')) return true;
  if (host === undefined) return false;
  const lower = host.toLowerCase();
  const hostname = lower.replace(/:\d+$/, '');
  return allowed.includes(lower) || allowed.includes(hostname);
}

/**
 * DNS-rebinding protection: a page on another site cannot drive this server
 * through a victim's browser. Requests without Origin (non-browser clients) pass
 * the Origin check; the Host must always be one we serve.
 */
export function originGuard(allowedOrigins: string[], allowedHosts: string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!hostAllowed(req.headers.host, allowedHosts)) {
      res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Host not allowed' }, id: null });
      return;
    }
    if (origin !== undefined && !originAllowed(origin, allowedOrigins)) {
      res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Origin not allowed' }, id: null });
      return;
    }
    next();
  };
}
