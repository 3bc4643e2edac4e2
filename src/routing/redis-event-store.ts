import { keys } from './channels.js';
import { comparePositions, EVENTS_PER_SESSION, type EventStore, type StoredEvent } from './event-store.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';

/**
 * One Redis list per session (`mcp:session:{id}:events`), one element per event:
 * `position \n delivery \n streamKey \n message` (none of the first three can hold
 * a newline; JSON never does). A list, not a Redis stream: a stream reserves a
 * ~4 KB node even for one entry, and most sessions hold a handful of events.
 * Appending costs one RPUSHX, which never creates a list without a TTL; when the
 * list does not exist yet, it is created together with its TTL. Trimming to
 * EVENTS_PER_SESSION happens when the owner's sweep renews the TTL.
 */
export class RedisEventStore implements EventStore {
  private readonly client: RedisClient;
  /** For append, which every reply of a tool call makes (see RedisConnections.untimed). */
  private readonly untimed: RedisClient;

  constructor(
    connections: Pick<RedisConnections, 'commands' | 'untimed'>,
    private readonly ttlMs: number,
  ) {
    this.client = connections.commands;
    this.untimed = connections.untimed;
  }

  async append(sessionId: string, event: StoredEvent): Promise<void> {
    const key = keys.sessionEvents(sessionId);
    const element = `${event.position}\n${event.delivery}\n${event.streamKey}\n${event.message}`;
    if ((await this.untimed.rPushX(key, element)) > 0) return;
    await this.client.multi().rPush(key, element).pExpire(key, this.ttlMs).exec();
  }

  async after(sessionId: string, position: string, delivery: string): Promise<StoredEvent[]> {
    const elements = await this.client.lRange(keys.sessionEvents(sessionId), 0, -1);
    const events: StoredEvent[] = [];
    for (const element of elements) {
      const event = parse(element);
      if (event && event.delivery === delivery && comparePositions(event.position, position) > 0) events.push(event);
    }
    return events;
  }

  async lastPosition(sessionId: string): Promise<string> {
    const [last] = await this.client.lRange(keys.sessionEvents(sessionId), -1, -1);
    return (last && parse(last)?.position) || '0-0';
  }

  async touch(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const batch = this.client.multi();
    for (const id of sessionIds) {
      batch.lTrim(keys.sessionEvents(id), -EVENTS_PER_SESSION, -1);
      batch.pExpire(keys.sessionEvents(id), this.ttlMs);
    }
    await batch.execAsPipeline();
  }

  async remove(sessionId: string): Promise<void> {
    await this.client.del(keys.sessionEvents(sessionId));
  }
}

function parse(element: string): StoredEvent | undefined {
  const first = element.indexOf('\n');
  const second = element.indexOf('\n', first + 1);
  const third = element.indexOf('\n', second + 1);
  if (first < 0 || second < 0 || third < 0) return undefined;
  return {
    position: element.slice(0, first),
    delivery: element.slice(first + 1, second),
    streamKey: element.slice(second + 1, third),
    message: element.slice(third + 1),
  };
}
