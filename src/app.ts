import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { createAuth } from './auth/index.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { health, ready, refuseWhileDraining } from './http/health.js';
import { KeepAlive } from './http/keep-alive.js';
import { legacySseMessage, legacySseStream, messagePreconditions } from './http/legacy-sse.js';
import { mcpDelete } from './http/mcp-delete.js';
import { mcpGet } from './http/mcp-get.js';
import { mcpPost, postPreconditions } from './http/mcp-post.js';
import { originAllowed, originGuard } from './http/origin-guard.js';
import { accessLog } from './observability/access-log.js';
import type { Runtime } from './session/runtime.js';

const MCP_REQUEST_HEADERS = ['Content-Type', 'Accept', 'Authorization', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID'];
const MCP_EXPOSED_HEADERS = ['Mcp-Session-Id', 'Mcp-Protocol-Version', 'WWW-Authenticate'];
const MCP_PATHS = ['/mcp', '/sse', '/message'];

/** The express application, middleware in the order requests meet it. */
export function createApp(rt: Runtime): Express {
  const { config } = rt;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);

  // 0. One log line per request, when LOG_LEVEL asks for it.
  const log = accessLog(rt.logger);
  if (log) app.use(log);
  // 1. Security headers on every response, errors included.
  app.use(helmet());
  // 2. Load-balancer probes, then turning new work away while the instance drains.
  app.get('/health', health);
  app.get('/ready', ready(rt));
  app.use(refuseWhileDraining(rt));
  // 3. DNS-rebinding protection before anything else looks at the request.
  app.use(originGuard(config.allowedOrigins, config.allowedHosts));
  // 4. CORS, so that browser clients can run a whole session.
  app.use(
    cors({
      origin: (origin, callback) => callback(null, origin === undefined || originAllowed(origin, config.allowedOrigins)),
      methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowedHeaders: MCP_REQUEST_HEADERS,
      exposedHeaders: MCP_EXPOSED_HEADERS,
      maxAge: 600,
    }),
  );
  // 5. The MCP endpoints: per-client rate limit, then who is asking (a verified bearer token, or the
  //    anonymous user when AUTH_MODE=none). Every MCP route below sees a principal. They come before
  //    the authorization server's routes, which MCP traffic (the hot path) need not walk through.
  const auth = createAuth(rt);
  app.use(MCP_PATHS, auth.mcpRateLimit, auth.authenticate);

  const keepAlive = new KeepAlive();
  const json = express.json({ limit: config.maxBodyBytes, strict: false, type: () => true });

  app.post('/mcp', postPreconditions, json, mcpPost(rt, keepAlive));
  app.get('/mcp', mcpGet(rt, keepAlive));
  app.delete('/mcp', mcpDelete(rt));
  app.get('/sse', legacySseStream(rt, keepAlive));
  app.post('/message', messagePreconditions, json, legacySseMessage(rt));

  // 6. Discovery, the OAuth authorization server and the fake upstream IdP (AUTH_MODE decides which),
  //    each endpoint behind its own rate limit.
  app.use(auth.router);

  app.use(notFoundHandler);
  app.use(errorHandler(rt.logger));
  return app;
}
