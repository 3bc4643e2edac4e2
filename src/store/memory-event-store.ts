import { EVENTS_PER_READ, eventSize, keptAfterTrim, type EventLogBounds, type EventLogWriter, type EventStore } from './event-store.js';
import { comparePositions, type StoredEvent } from '../protocol/event-ids.js';
import { sweepEvery } from './sweeper.js';

interface Log {
  events: StoredEvent[];
  bytes: number;
  expiresAt: number;
}

/**
 * The embedded mode's event log: one bounded array per session, expiring with
 * it; a sweep (one unref'd timer) purges the logs of sessions nobody reads again.
 */
export class MemoryEventStore implements EventStore {
  private readonly logs = new Map<string, Log>();
  private readonly stopSweeping: () => void;

  constructor(
    private readonly ttlMs: number,
    private readonly bounds: EventLogBounds,
    sweepIntervalMs = 30_000,
  ) {
    this.stopSweeping = sweepEvery(sweepIntervalMs, () => this.purgeExpired());
  }

  close(): void {
    this.stopSweeping();
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [sessionId, log] of this.logs) if (log.expiresAt <= now) this.logs.delete(sessionId);
  }

  writer(sessionId: string): EventLogWriter {
    return { append: async (event) => this.append(sessionId, event) };
  }

  async after(sessionId: string, position: string, delivery: string, limit = EVENTS_PER_READ): Promise<StoredEvent[]> {
    const events = this.live(sessionId)?.events ?? [];
    const found: StoredEvent[] = [];
    for (let i = firstAfter(events, position); i < events.length && found.length < limit; i++) {
      const event = events[i]!;
      // Checked again: were two instances to write the log for a moment (a handover), it may be out of order.
      if (event.delivery === delivery && comparePositions(event.position, position) > 0) found.push(event);
    }
    return found;
  }

  async lastPosition(sessionId: string): Promise<string> {
    return this.live(sessionId)?.events.at(-1)?.position ?? '0-0';
  }

  async touch(sessionIds: string[]): Promise<void> {
    for (const id of sessionIds) {
      const log = this.live(id);
      if (log) log.expiresAt = Date.now() + this.ttlMs;
    }
  }

  async remove(sessionId: string): Promise<void> {
    this.logs.delete(sessionId);
  }

  private append(sessionId: string, event: StoredEvent): void {
    let log = this.live(sessionId);
    if (!log) this.logs.set(sessionId, (log = { events: [], bytes: 0, expiresAt: 0 }));
    log.expiresAt = Math.max(log.expiresAt, Date.now() + this.ttlMs);
    log.events.push(event);
    log.bytes += eventSize(event);
    if (log.events.length <= this.bounds.maxEvents && log.bytes <= this.bounds.maxBytes) return;
    // The newest event stays, however large: it is what a stream is about to be sent.
    const keep = keptAfterTrim(this.bounds);
    let drop = 0;
    while (log.events.length - drop > 1 && (log.events.length - drop > keep.maxEvents || log.bytes > keep.maxBytes)) {
      log.bytes -= eventSize(log.events[drop]!);
      drop += 1;
    }
    log.events.splice(0, drop);
  }

  private live(sessionId: string): Log | undefined {
    const log = this.logs.get(sessionId);
    if (log && log.expiresAt <= Date.now()) {
      this.logs.delete(sessionId);
      return undefined;
    }
    return log;
  }
}

/** Index of the first event strictly after `position` (events are in position order). */
function firstAfter(events: StoredEvent[], position: string): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (comparePositions(events[mid]!.position, position) > 0) high = mid;
    else low = mid + 1;
  }
  return low;
}
