import http from 'node:http';
import { createApp } from './app.js';
import { ConnectionLimits } from './http/connection-limits.js';
import type { Config } from './config.js';
import { createBackend } from './routing/backend.js';
import type { Logger } from './observability/logger.js';
import { startRuntime, type Runtime } from './session/runtime.js';

/** How long after a stop begins the listener keeps accepting (and refusing) connections. */
const LISTENER_CLOSE_DELAY_MS = 1000;

export interface RunningServer {
  url: string;
  runtime: Runtime;
  http: http.Server;
  /** Drains (requests in flight get up to graceMs), hands every session over, closes. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts one instance: backend, runtime, HTTP listener. Used by index.ts, tests and the benchmark. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const backend = await createBackend(
    config.redisUrl,
    {
      sessionTtlMs: config.sessionIdleTimeoutMs,
      eventLog: { maxEvents: config.limits.eventLogEvents, maxBytes: config.limits.eventLogBytes },
    },
    logger,
  );
  const runtime = await startRuntime(config, backend, logger);
  // Node checks the header and body timeouts this often (its default, 30 s, would let a stalled
  // body live for a timeout plus 30 s).
  const checkEveryMs = Math.max(250, Math.min(5000, Math.floor(config.limits.headersTimeoutMs / 4)));
  // These time the request's arrival only: a response may stream for as long as its own deadline.
  const connections = new ConnectionLimits(
    {
      perIp: config.limits.connectionsPerIp,
      total: config.limits.connections,
      headersTimeoutMs: config.limits.headersTimeoutMs,
      bodyTimeoutMs: config.limits.bodyTimeoutMs,
    },
    runtime.logger,
  );
  const server = http.createServer({ connectionsCheckingInterval: checkEveryMs }, connections.guard(createApp(runtime)));
  connections.attach(server);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`,
    runtime,
    http: server,
    stop(graceMs = 0) {
      stopping ??= (async () => {
        // Draining first: /ready fails and requests on open connections get 503 with
        // Connection: close. The listener closes (idle keep-alive connections with it)
        // only a moment later, once a load balancer had time to see /ready fail: a
        // request already on its way over an idle connection is not cut off.
        runtime.draining = true;
        const closed = new Promise<void>((resolve) => {
          setTimeout(() => server.close(() => resolve()), Math.min(LISTENER_CLOSE_DELAY_MS, graceMs));
        });
        await runtime.stop(graceMs);
        server.closeAllConnections();
        await closed;
        await backend.close();
      })();
      return stopping;
    },
  };
}
