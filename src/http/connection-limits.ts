import type { RequestListener, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger.js';

export interface ConnectionBounds {
  /** Open connections per client address, the socket's peer (MAX_CONNECTIONS_PER_IP); 0 = no bound. */
  perIp: number;
  /** Open connections on this instance (MAX_CONNECTIONS); 0 = no bound. */
  total: number;
  /** Time to receive a request's headers (HEADERS_TIMEOUT_S), and the whole request (BODY_TIMEOUT_S). */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** How long a refused connection may linger for its 429 to be read. */
const REFUSAL_LINGER_MS = 1000;

/**
 * Bounds what a client can make the HTTP server hold before any route runs:
 * connections per address and in all, and the time to send a request (a
 * stalled header or body is answered 408 and closed). Node's server enforces
 * the total and the timeouts; the per-address count is kept here because Node
 * has no such setting. A refused connection gets a 429 with a JSON body and is
 * closed, and no request that arrives on it is served: `guard` wraps the
 * server's request listener.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();

  constructor(
    private readonly limits: ConnectionBounds,
    private readonly logger: Logger,
  ) {}

  /** The request listener, minus what arrives on refused connections. */
  guard(listener: RequestListener): RequestListener {
    return (req, res) => {
      if (this.refused.has(req.socket)) req.socket.destroy();
      else listener(req, res);
    };
  }

  attach(server: Server): void {
    const { limits } = this;
    if (limits.total > 0) server.maxConnections = limits.total;
    // Node refuses a headers timeout longer than the whole request's.
    server.requestTimeout = limits.bodyTimeoutMs;
    server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs);
    if (limits.perIp > 0) server.on('connection', (socket: Socket) => this.count(socket));
  }

  private count(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const count = (this.open.get(address) ?? 0) + 1;
    if (count > this.limits.perIp) {
      this.logger.debug('connection refused: too many from one address', { limit: this.limits.perIp });
      this.refused.add(socket);
      refuse(socket, this.limits.perIp);
      return;
    }
    this.open.set(address, count);
    socket.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
    });
  }
}

function refuse(socket: Socket, limit: number): void {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: {
      code: -32000,
      message: `Limit exceeded: open connections from this address (at most ${limit}, MAX_CONNECTIONS_PER_IP)`,
      data: { limit: 'MAX_CONNECTIONS_PER_IP', max: limit, scope: 'address' },
    },
    id: null,
  });
  socket.end(
    'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}
