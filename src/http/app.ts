import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import { createAuth } from '../auth/index.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { whenClosed } from '../sessions/streams/response-closed.js';
import { health, ready, refuseWhileDraining } from './health.js';
import { legacySseMessage, legacySseStream, messagePreconditions } from './legacy-sse.js';
import { DirectRoutes, expressClasses } from './direct-routes.js';
import { jsonBody } from './json-body.js';
import { mcpDelete } from './mcp-delete.js';
import { mcpGet } from './mcp-get.js';
import { mcpPost, postPreconditions } from './mcp-post.js';
import { originAllowed, originGuard } from './origin-guard.js';
import { landingPage } from './landing-page.js';
import { mySessionsRoutes } from './my-sessions/my-sessions-routes.js';
import { securityHeaders } from './security-headers.js';
import { accessLog } from '../observability/access-log.js';
import { httpMetrics, metricsEndpoint } from '../observability/http-metrics.js';
import type { Runtime } from '../runtime.js';

const MCP_REQUEST_HEADERS = [
  'Content-Type',
  'Accept',
  'Authorization',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Last-Event-ID',
  // The 2026-07-28 era's routing headers (SEP-2243).
  'Mcp-Method',
  'Mcp-Name',
];
const MCP_EXPOSED_HEADERS = ['Mcp-Session-Id', 'Mcp-Protocol-Version', 'WWW-Authenticate'];

/**
 * The headers a preflight may allow: the fixed ones, and whichever
 * `Mcp-Param-<name>` headers it asks for (their names depend on the tool).
 */
function allowedRequestHeaders(requested: string | undefined): string[] {
  const params = (requested ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => /^mcp-param-[a-z0-9-]{1,64}$/i.test(name));
  return params.length === 0 ? MCP_REQUEST_HEADERS : [...MCP_REQUEST_HEADERS, ...params];
}

/**
 * The HTTP request listener: the express application, middleware in the order
 * requests meet it. The MCP endpoints are also served directly (DirectRoutes),
 * with the same middleware in the same order, built from the lists below.
 */
export function createApp(rt: Runtime): { listener: RequestListener; classes: ReturnType<typeof expressClasses> } {
  const { config } = rt;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);

  // 1. One log line per request, when LOG_LEVEL asks for it; security headers on every response,
  //    errors included.
  const log = accessLog(rt.logger);
  const front: RequestHandler[] = [...(log ? [log] : []), httpMetrics(rt.metrics, whenClosed), securityHeaders()];
  // 2. Turning new work away while the instance drains; DNS-rebinding protection before anything
  //    else looks at the request; CORS, so that browser clients can run a whole session.
  const guards: RequestHandler[] = [
    refuseWhileDraining(rt),
    originGuard(config.allowedOrigins, config.allowedHosts),
    cors((req, callback) =>
      callback(null, {
        origin: (origin, allow) => allow(null, origin === undefined || originAllowed(origin, config.allowedOrigins)),
        methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowedHeaders: allowedRequestHeaders(req.headers['access-control-request-headers']),
        exposedHeaders: MCP_EXPOSED_HEADERS,
        maxAge: 600,
      }),
    ),
  ];
  // 3. The MCP endpoints: per-client rate limit, then who is asking (a verified bearer token, or the
  //    anonymous user when AUTH_MODE=none), then that user's rate limit. Every MCP route sees a
  //    principal. In express they come before the authorization server's routes, which MCP traffic
  //    need not walk through.
  const auth = createAuth({ config, logger: rt.logger, store: rt.backend });
  const mcpGate: RequestHandler[] = [auth.mcpRateLimit, auth.authenticate, auth.mcpUserRateLimit];
  const json = jsonBody(config.maxBodyBytes);
  const mcpRoutes: Array<['GET' | 'POST' | 'DELETE', string, RequestHandler[]]> = [
    ['POST', '/mcp', [postPreconditions, json, mcpPost(rt)]],
    ['GET', '/mcp', [mcpGet(rt)]],
    ['DELETE', '/mcp', [mcpDelete(rt)]],
    ['GET', '/sse', [legacySseStream(rt)]],
    ['POST', '/message', [messagePreconditions, json, legacySseMessage(rt)]],
  ];

  app.use(front);
  // Load-balancer probes come before the guards: they answer while draining, from any host.
  app.get('/health', health);
  app.get('/ready', ready(rt));
  app.get('/', guards, landingPage(rt));
  if (config.metrics.token) app.get('/metrics', metricsEndpoint(rt.metrics, config.metrics.token));
  app.use(guards);
  app.use([...new Set(mcpRoutes.map(([, path]) => path))], mcpGate);
  for (const [method, path, handlers] of mcpRoutes) app[method.toLowerCase() as 'get' | 'post' | 'delete'](path, handlers);

  // The signed-in user's sessions and their live tap (needs our own authorization server to sign in).
  if (auth.browser) app.use('/my', mySessionsRoutes(rt, auth.browser));

  // 4. Discovery, the OAuth authorization server and the fake upstream IdP (AUTH_MODE decides which),
  //    each endpoint behind its own rate limit.
  app.use(auth.router);

  app.use(notFoundHandler);
  const onError = errorHandler(rt.logger);
  app.use(onError);

  // The hot path: the same chains, served without the router's walk.
  const direct = new DirectRoutes(app, notFoundHandler, onError);
  for (const [method, path, handlers] of mcpRoutes) direct.add(method, path, [...front, ...guards, ...mcpGate, ...handlers]);
  return { listener: direct.listener, classes: expressClasses(app) };
}
