import http from 'node:http';
import { createApp } from './http/app.js';
import { ConnectionLimits } from './http/connection-limits.js';
import type { Config } from './config.js';
import type { RedisTarget } from './store/redis-connections.js';
import { createBackend } from './backend.js';
import type { Logger } from './observability/logger.js';
import { startRuntime, type Runtime } from './runtime.js';

/** How long after a stop begins the listener keeps accepting (and refusing) connections. */
const LISTENER_CLOSE_DELAY_MS = 1000;

export interface RunningServer {
  url: string;
  runtime: Runtime;
  http: http.Server;
  /** Where Prometheus scrapes this instance (METRICS_PORT), when set. */
  metricsUrl: string | undefined;
  /** Drains (requests in flight get up to graceMs), hands every session over, closes. */
  stop(graceMs?: number): Promise<void>;
}

/** Where Redis is, if anywhere: one node, a cluster, or none (the embedded mode). */
export function redisTarget(config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>): RedisTarget | undefined {
  if (config.redisClusterNodes) return { clusterNodes: config.redisClusterNodes };
  return config.redisUrl ? { url: config.redisUrl } : undefined;
}

/** Starts one instance: backend, runtime, HTTP listener. Used by main.ts, tests and the benchmark. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const backend = await createBackend(
    redisTarget(config),
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
  const app = createApp(runtime);
  const server = http.createServer({ connectionsCheckingInterval: checkEveryMs, ...app.classes }, connections.guard(app.listener));
  connections.attach(server);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const metricsListener = config.metrics.port === undefined ? undefined : await serveMetrics(runtime, config.metrics.host, config.metrics.port);
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`,
    runtime,
    http: server,
    metricsUrl: metricsListener?.url,
    stop(graceMs = 0) {
      stopping ??= (async () => {
        // Draining first: /ready fails and requests on open connections get 503 with
        // Connection: close. The listener closes (idle keep-alive connections with it)
        // only a moment later, once a load balancer had time to see /ready fail: a
        // request already on its way over an idle connection is not cut off.
        runtime.draining = true;
        let closed!: Promise<void>;
        // Resolves once the listener stopped accepting: no connection can arrive after that.
        const listenerClosing = new Promise<void>((accepting) => {
          setTimeout(() => {
            closed = new Promise<void>((resolve) => server.close(() => resolve()));
            accepting();
          }, Math.min(LISTENER_CLOSE_DELAY_MS, graceMs));
        });
        await runtime.stop(graceMs);
        // Whatever is still open once the drain is over (connections accepted during it included) goes.
        await listenerClosing;
        server.closeAllConnections();
        await closed;
        await new Promise<void>((resolve) => (metricsListener ? metricsListener.server.close(() => resolve()) : resolve()));
        await backend.close();
      })();
      return stopping;
    },
  };
}

/**
 * The metrics' own listener (METRICS_PORT on METRICS_HOST, loopback unless
 * said otherwise): Prometheus scrapes it, strangers on the public port do not.
 */
async function serveMetrics(runtime: Runtime, host: string, port: number): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    runtime.metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"metrics_failed"}'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/metrics` };
}
