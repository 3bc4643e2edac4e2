import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { attachAnonymousPrincipal } from './auth/principal.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
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
  // 2. DNS-rebinding protection before anything else looks at the request.
  app.use(originGuard(config.allowedOrigins, config.allowedHosts));
  // 3. CORS, so that browser clients can run a whole session.
  app.use(
    cors({
      origin: (origin, callback) => callback(null, origin === undefined || originAllowed(origin, config.allowedOrigins)),
      methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowedHeaders: MCP_REQUEST_HEADERS,
      exposedHeaders: MCP_EXPOSED_HEADERS,
      maxAge: 600,
    }),
  );
  // 4. Who is asking. Every route below sees a principal.
  app.use(attachAnonymousPrincipal);

  const keepAlive = new KeepAlive();
  const json = express.json({ limit: config.maxBodyBytes, strict: false, type: () => true });

  app.post('/mcp', postPreconditions, json, mcpPost(rt, keepAlive));
  app.get('/mcp', mcpGet(rt, keepAlive));
  app.delete('/mcp', mcpDelete(rt));
  app.get('/sse', legacySseStream(rt, keepAlive));
  app.post('/message', messagePreconditions, json, legacySseMessage(rt));

  app.use(notFoundHandler);
  app.use(errorHandler(rt.logger));
  return app;
}
