import { comparePositions, EVENTS_PER_SESSION, type EventStore, type StoredEvent } from './event-store.js';

interface Log {
  events: StoredEvent[];
  expiresAt: number;
}

/** The embedded mode's event log: one bounded array per session, expiring with it. */
export class MemoryEventStore implements EventStore {
  private readonly logs = new Map<string, Log>();

  constructor(private readonly ttlMs: number) {}

  async append(sessionId: string, event: StoredEvent): Promise<void> {
    const log = this.live(sessionId) ?? { events: [], expiresAt: 0 };
    if (!this.logs.has(sessionId)) this.logs.set(sessionId, log);
    log.expiresAt = Math.max(log.expiresAt, Date.now() + this.ttlMs);
    log.events.push(event);
    if (log.events.length > EVENTS_PER_SESSION) log.events.splice(0, log.events.length - EVENTS_PER_SESSION);
  }

  async after(sessionId: string, position: string, delivery: string): Promise<StoredEvent[]> {
    const events = this.live(sessionId)?.events ?? [];
    return events.filter((e) => e.delivery === delivery && comparePositions(e.position, position) > 0);
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

  private live(sessionId: string): Log | undefined {
    const log = this.logs.get(sessionId);
    if (log && log.expiresAt <= Date.now()) {
      this.logs.delete(sessionId);
      return undefined;
    }
    return log;
  }
}
