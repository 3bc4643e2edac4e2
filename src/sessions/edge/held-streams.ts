import type { KeyValueStore } from '../../store/kv.js';
import type { Logger } from '../../observability/logger.js';
import type { SessionDirectory } from '../session-directory.js';

/**
 * Long-lived streams held by this instance (standalone GET streams, legacy SSE
 * streams) count as activity for their session: an open stream keeps the session
 * alive even when nothing else happens. One timer renews all of them, in one
 * round trip, along with the leases that keep a session to one standalone stream.
 */
export class HeldStreams {
  private readonly held = new Map<string, { sessionId: string; userId: string; leaseKey?: string }>();
  private readonly timer: NodeJS.Timeout;
  private nextId = 0;

  constructor(
    private readonly directory: SessionDirectory,
    private readonly kv: KeyValueStore,
    readonly leaseTtlMs: number,
    idleTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    const everyMs = Math.max(100, Math.min(idleTimeoutMs / 4, leaseTtlMs / 3));
    this.timer = setInterval(() => void this.renew(), everyMs);
    this.timer.unref();
  }

  /** Registers a stream; returns the function that unregisters it. */
  hold(sessionId: string, userId: string, leaseKey?: string): () => void {
    const id = this.nextId++;
    this.held.set(String(id), { sessionId, userId, leaseKey });
    return () => this.held.delete(String(id));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held.values()];
    const sessions = [...new Map(entries.map(({ sessionId, userId }) => [sessionId, { sessionId, userId }])).values()];
    const leaseKeys = entries.flatMap((entry) => (entry.leaseKey ? [entry.leaseKey] : []));
    try {
      await Promise.all([this.directory.touch(sessions), this.kv.touch(leaseKeys, this.leaseTtlMs)]);
    } catch (error) {
      this.logger.warn('renewing held streams failed', { error: (error as Error).message });
    }
  }
}
