import type { Request, RequestHandler, Response } from 'express';
import type { Era, Metrics } from './metrics.js';

/** Route labels: the paths this server answers, so that a stranger's paths cannot grow the label set. */
const ROUTES = new Set([
  '/',
  '/mcp',
  '/sse',
  '/message',
  '/health',
  '/ready',
  '/metrics',
  '/authorize',
  '/token',
  '/register',
  '/revoke',
  '/consent',
  '/my',
  '/my/login',
  '/my/callback',
  '/my/logout',
  '/my/sessions',
]);

function routeOf(path: string): string {
  if (ROUTES.has(path)) return path;
  if (path.startsWith('/.well-known/')) return '/.well-known/*';
  if (path.startsWith('/fakeupstreamauth/')) return '/fakeupstreamauth/*';
  if (path.startsWith('/my/sessions/')) return '/my/sessions/*';
  return 'other';
}

const MCP_ROUTES = new Set(['/mcp', '/sse', '/message']);

/** The era a route handler recorded (res.locals.era), or what its route implies. */
function eraOf(route: string, res: Response): Era {
  const recorded = res.locals.era as Era | undefined;
  if (recorded) return recorded;
  return MCP_ROUTES.has(route) ? 'session' : 'none';
}

/** Records that a response was a refusal by `setting` (a budget, a rate limit, load shedding). */
export function markRefused(res: Response, setting: string): void {
  res.locals.refusedBy = setting;
}

/** Records which protocol era a request of /mcp belongs to. */
export function markEra(res: Response, era: Era): void {
  res.locals.era = era;
}

/**
 * Counts every request once its response is over (streams included): route,
 * status, era and duration, and the refusals with the setting that refused.
 * `onClose` is the edge's way of running code when a response is over (one
 * listener per response for all who wait for it).
 */
export function httpMetrics(metrics: Metrics, onClose: (res: Response, handler: () => void) => void): RequestHandler {
  return (req: Request, res: Response, next) => {
    const started = process.hrtime.bigint();
    onClose(res, () => {
      const route = routeOf(req.path);
      metrics.http(route, res.statusCode, eraOf(route, res), Number(process.hrtime.bigint() - started) / 1e9);
      const refusedBy = res.locals.refusedBy as string | undefined;
      if (refusedBy) metrics.refused(refusedBy);
    });
    next();
  };
}

/**
 * GET /metrics on the public port, only when METRICS_TOKEN is set and the
 * request carries it as a bearer token (otherwise the route does not exist
 * here: the exposition has its own port, METRICS_PORT, on a private address).
 */
export function metricsEndpoint(metrics: Metrics, token: string): RequestHandler {
  const expected = `Bearer ${token}`;
  return async (req, res) => {
    if (req.headers.authorization !== expected) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(401).json({ error: 'unauthorized', error_description: 'GET /metrics needs the bearer token METRICS_TOKEN' });
      return;
    }
    const { contentType, body } = await metrics.scrape();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(body);
  };
}
