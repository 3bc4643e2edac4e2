import { keys } from './channels.js';
import { EVENTS_PER_SESSION, type EventStore, type StoredEvent } from './event-store.js';
import type { RedisClient } from './redis-connections.js';

/**
 * One Redis stream per session (`mcp:session:{id}:events`), entry id = position.
 * Appending costs one XADD: NOMKSTREAM never creates a log without a TTL; when
 * the log does not exist yet, it is created together with its TTL.
 */
export class RedisEventStore implements EventStore {
  constructor(
    private readonly client: RedisClient,
    private readonly ttlMs: number,
  ) {}

  async append(sessionId: string, event: StoredEvent): Promise<void> {
    const key = keys.sessionEvents(sessionId);
    const fields = { k: event.streamKey, d: event.delivery, m: event.message };
    const trim = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: EVENTS_PER_SESSION } };
    const added = await this.client.xAddNoMkStream(key, event.position, fields, trim);
    if (added !== null) return;
    await this.client.multi().xAdd(key, event.position, fields, trim).pExpire(key, this.ttlMs).exec();
  }

  async after(sessionId: string, position: string, delivery: string): Promise<StoredEvent[]> {
    const entries = await this.client.xRange(keys.sessionEvents(sessionId), `(${position}`, '+');
    const events: StoredEvent[] = [];
    for (const entry of entries ?? []) {
      const message = entry.message as Record<string, string>;
      if (message.d !== delivery) continue;
      events.push({ position: entry.id, streamKey: message.k ?? '', delivery, message: message.m ?? '' });
    }
    return events;
  }

  async lastPosition(sessionId: string): Promise<string> {
    const entries = await this.client.xRevRange(keys.sessionEvents(sessionId), '+', '-', { COUNT: 1 });
    return entries?.[0]?.id ?? '0-0';
  }

  async touch(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const batch = this.client.multi();
    for (const id of sessionIds) batch.pExpire(keys.sessionEvents(id), this.ttlMs);
    await batch.execAsPipeline();
  }

  async remove(sessionId: string): Promise<void> {
    await this.client.del(keys.sessionEvents(sessionId));
  }
}
