import type { Logger } from '../../observability/logger.js';
import type { SessionGateway } from '../edge/session-gateway.js';
import type { KeepAlive } from './keep-alive.js';
import type { SseBounds } from './sse-writer.js';

/**
 * Request streams under way on this instance, so that a shutdown can let them
 * finish: `idle()` resolves when the last one ends.
 */
export class RequestTracker {
  private count = 0;
  private waiters: Array<() => void> = [];

  get active(): number {
    return this.count;
  }

  begin(): void {
    this.count += 1;
  }

  end(): void {
    this.count -= 1;
    if (this.count > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no request stream is under way (at once when none is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** What every client stream of a session (request, standalone, legacy) works with on this instance. */
export interface StreamContext {
  gateway: SessionGateway;
  logger: Logger;
  /** Unread bytes a stream may hold, and how long its end may linger. */
  bounds: SseBounds;
  requestTimeoutMs: number;
  requests: RequestTracker;
  /** Comments on idle streams. */
  keepAlive: KeepAlive;
  /** A fresh id naming one HTTP request, so that replies reach it and no other. */
  nextDeliveryId(): string;
}
