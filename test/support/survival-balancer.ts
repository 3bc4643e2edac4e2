/**
 * A tiny round-robin HTTP load balancer for the rolling-restart suite, behaving
 * like a production one configured for zero-downtime deploys:
 *  - it sends requests only to backends whose `/ready` answered 200 at the last
 *    probe (every `probeMs`);
 *  - it retries on the next backend a request that never reached a process
 *    (connection refused), and, with `retryDrainRefusals`, one that a draining
 *    backend turned away before doing anything with it (503 + `Connection: close`,
 *    the answer of refuseWhileDraining) — like nginx's `proxy_next_upstream
 *    error http_503`;
 *  - it streams responses (SSE) through unbuffered, one upstream connection per
 *    request (no keep-alive: a reused socket could not tell "refused" from "lost").
 */
import http from 'node:http';

export interface BalancerStats {
  requests: number;
  /** Attempts on a backend that refused the connection, retried elsewhere. */
  refusedRetries: number;
  /** Requests a draining backend turned away (503, Connection: close), retried elsewhere. */
  drainRetries: number;
  /** Requests answered 503 by the balancer itself: no ready backend left to try. */
  noBackend: number;
  /** Upstream failures after the request may have reached a process (answered 502). */
  upstreamErrors: number;
  /** Responses cut off after they started (the upstream connection died mid-stream). */
  cutOff: number;
  byBackend: Record<string, number>;
  /** Every retry, cut-off and failure, with the request it hit. */
  incidents: Incident[];
}

export interface Incident {
  at: number;
  kind: 'refused' | 'drain-refusal' | 'no-backend' | 'upstream-error' | 'cut-off';
  method: string;
  backend: string | undefined;
  code?: string;
}

export interface Balancer {
  url: string;
  stats: BalancerStats;
  backends(): string[];
  isReady(url: string): boolean;
  /** Swaps a backend for another (a restarted instance); the new one gets traffic once its /ready is 200. */
  replace(oldUrl: string, newUrl: string): void;
  close(): Promise<void>;
}

interface Backend {
  url: URL;
  ready: boolean;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function probeReady(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: url.hostname, port: url.port, path: '/ready', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

export async function startBalancer(initial: string[], options: { probeMs?: number; retryDrainRefusals?: boolean } = {}): Promise<Balancer> {
  const probeMs = options.probeMs ?? 50;
  const retryDrainRefusals = options.retryDrainRefusals ?? true;
  let backends: Backend[] = initial.map((url) => ({ url: new URL(url), ready: false }));
  let next = 0;
  const stats: BalancerStats = { requests: 0, refusedRetries: 0, drainRetries: 0, noBackend: 0, upstreamErrors: 0, cutOff: 0, byBackend: {}, incidents: [] };

  let probing = true;
  const probeAll = async () => {
    await Promise.all(
      backends.map(async (backend) => {
        backend.ready = await probeReady(backend.url);
      }),
    );
  };
  await probeAll();
  const probeLoop = (async () => {
    while (probing) {
      await new Promise((r) => setTimeout(r, probeMs));
      if (probing) await probeAll();
    }
  })();

  /** The next ready backend in turn that this request has not tried yet. */
  const pick = (tried: Set<Backend>): Backend | undefined => {
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[(next + i) % backends.length]!;
      if (backend.ready && !tried.has(backend)) {
        next = (next + i + 1) % backends.length;
        return backend;
      }
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    stats.requests += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const tried = new Set<Backend>();
      let clientGone = false;
      let current: http.ClientRequest | undefined;
      const method = req.method ?? 'GET';
      const note = (kind: Incident['kind'], backend: Backend | undefined, code?: string) =>
        stats.incidents.push({ at: Date.now(), kind, method, backend: backend?.url.origin, ...(code && { code }) });
      res.on('close', () => {
        clientGone = true;
        current?.destroy();
      });

      const attempt = () => {
        if (clientGone) return;
        const backend = pick(tried);
        if (!backend) {
          stats.noBackend += 1;
          note('no-backend', undefined);
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'balancer: no backend available' }, id: null }));
          return;
        }
        tried.add(backend);
        const upstream = http.request({
          host: backend.url.hostname,
          port: backend.url.port,
          method: req.method,
          path: req.url,
          headers: { ...withoutHopByHop(req.headers), 'content-length': String(body.length) },
          agent: false,
        });
        current = upstream;
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (clientGone) return; // the client left; nothing failed
          if (res.headersSent) {
            if (!res.destroyed) {
              stats.cutOff += 1;
              note('cut-off', backend, error.code);
            }
            res.destroy();
            return;
          }
          if (error.code === 'ECONNREFUSED') {
            // Never reached a process: safe to send elsewhere.
            stats.refusedRetries += 1;
            note('refused', backend, error.code);
            backend.ready = false;
            attempt();
            return;
          }
          stats.upstreamErrors += 1;
          note('upstream-error', backend, error.code ?? error.message);
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: `balancer: upstream failed (${error.code ?? error.message})` }, id: null }));
        });
        upstream.on('response', (response) => {
          if (retryDrainRefusals && response.statusCode === 503 && response.headers.connection === 'close') {
            // Refused by a draining backend before any work was done.
            response.resume();
            stats.drainRetries += 1;
            note('drain-refusal', backend);
            backend.ready = false;
            attempt();
            return;
          }
          stats.byBackend[backend.url.origin] = (stats.byBackend[backend.url.origin] ?? 0) + 1;
          res.writeHead(response.statusCode ?? 502, withoutHopByHop(response.headers));
          res.flushHeaders();
          response.on('aborted', () => {
            if (!res.destroyed && !clientGone) {
              stats.cutOff += 1;
              note('cut-off', backend, 'aborted');
            }
            res.destroy();
          });
          response.pipe(res);
        });
        upstream.end(body);
      };
      attempt();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${address.port}`,
    stats,
    backends: () => backends.map((b) => b.url.origin),
    isReady: (url) => backends.some((b) => b.url.origin === new URL(url).origin && b.ready),
    replace(oldUrl, newUrl) {
      const origin = new URL(oldUrl).origin;
      backends = backends.map((b) => (b.url.origin === origin ? { url: new URL(newUrl), ready: false } : b));
    },
    async close() {
      probing = false;
      await probeLoop;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
