import { keys } from '../protocol/channels.js';
import { EVENTS_PER_READ, eventSize, keptAfterTrim, type EventLogBounds, type EventLogWriter, type EventStore } from './event-store.js';
import type { StoredEvent } from '../protocol/event-ids.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';

/**
 * One Redis list per session (`mcp:session:{id}:events`), one element per event
 * (format in event-log-scripts.ts). A list, not a Redis stream: a stream reserves a
 * ~4 KB node even for one entry, and most sessions hold a handful of events.
 * Reading is one script that finds a position by binary search and returns one
 * stream's events after it, a bounded number at a time. Writing: see LogWriter.
 */
export class RedisEventStore implements EventStore {
  private readonly client: RedisClient;
  /** For append, which every reply of a tool call makes (see RedisConnections.untimed). */
  private readonly untimed: RedisClient;

  constructor(
    connections: Pick<RedisConnections, 'commands' | 'untimed'>,
    private readonly ttlMs: number,
    private readonly bounds: EventLogBounds,
  ) {
    this.client = connections.commands;
    this.untimed = connections.untimed;
  }

  writer(sessionId: string, lastPosition: string): EventLogWriter {
    return new LogWriter(this.client, this.untimed, keys.sessionEvents(sessionId), this.ttlMs, this.bounds, lastPosition === '0-0');
  }

  async after(sessionId: string, position: string, delivery: string, limit = EVENTS_PER_READ): Promise<StoredEvent[]> {
    const elements = await this.client.eventsAfter(keys.sessionEvents(sessionId), position, delivery, limit);
    return elements.flatMap((element) => parse(element) ?? []);
  }

  async lastPosition(sessionId: string): Promise<string> {
    const last = await this.client.lIndex(keys.sessionEvents(sessionId), -1);
    return (last && parse(last)?.position) || '0-0';
  }

  async touch(sessionIds: string[]): Promise<void> {
    // One command per session, pipelined: sessions live in different hash slots.
    await Promise.all(sessionIds.map((id) => this.client.pExpire(keys.sessionEvents(id), this.ttlMs)));
  }

  async remove(sessionId: string): Promise<void> {
    await this.client.del(keys.sessionEvents(sessionId));
  }
}

/**
 * The owner's writer of one session's log. It counts what the log holds, so that
 * an append is one RPUSHX (one command per server message, as a tool call's
 * budget has it) until a bound would be passed. Past the count bound, an LTRIM
 * goes with the RPUSHX (once per quarter of the bound); past the byte bound the
 * append goes through the script, which trims the log down to the kept levels
 * and reports what it holds.
 * A writer that does not know the log (a session taken over) starts with the
 * script. Were two instances to write one log for a moment (a handover), the
 * counts are approximate until the next trim; the count bound still holds.
 */
class LogWriter implements EventLogWriter {
  /** Events and bytes the log holds, and the running total of bytes ever appended; undefined = not known. */
  private tally: { events: number; bytes: number; total: number } | undefined;
  /** Byte-bound scripts sent so far: which reply is the latest. */
  private scripts = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly untimed: RedisClient,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly bounds: EventLogBounds,
    empty: boolean,
  ) {
    if (empty) this.tally = { events: 0, bytes: 0, total: 0 };
  }

  /** Creates the list with one element and its TTL; resolves to a non-zero length. */
  private async create(element: string): Promise<number> {
    await this.client.multi().rPush(this.key, element).pExpire(this.key, this.ttlMs).exec();
    return 1;
  }

  async append(event: StoredEvent): Promise<void> {
    const head = `${event.position}\n${event.delivery}\n${event.streamKey}`;
    const size = eventSize(event);
    const tally = this.tally;
    if (tally && tally.bytes + size <= this.bounds.maxBytes) {
      const first = tally.events === 0;
      tally.events += 1;
      tally.bytes += size;
      tally.total += size;
      const element = `${head}\n${tally.total}\n${event.message}`;
      // The log's first event creates the list with its TTL (never a list without one); appends sent
      // after it, on the same connection, find it there.
      const pushed = first ? this.create(element) : this.untimed.rPushX(this.key, element);
      if (tally.events > this.bounds.maxEvents) {
        // Past the count bound: one LTRIM in the same write keeps the newest. The bytes dropped
        // are not known here: the tally keeps an upper bound, and the byte bound's script (which
        // measures) runs sooner rather than later.
        tally.events = keptAfterTrim(this.bounds).maxEvents;
        await this.untimed.lTrim(this.key, -tally.events, -1);
      }
      // The list expired meanwhile: made again (the tally, counting what expired too, stays an upper bound).
      if ((await pushed) === 0) await this.create(element);
      return;
    }
    this.tally = undefined; // if the script fails, the next append asks again
    // Appends racing here all take the script; only the last one sent knows the log as it is once
    // they ran (one connection: Redis runs them in order). An earlier reply would be stale.
    const sent = ++this.scripts;
    const [events = 0, bytes = 0, total = 0] = await this.untimed.appendEvent(this.key, head, event.message, this.ttlMs, this.bounds, keptAfterTrim(this.bounds));
    if (sent === this.scripts) this.tally = { events, bytes, total };
  }
}

/** `position \n delivery \n streamKey \n total \n message` (see event-log-scripts.ts). */
function parse(element: string): StoredEvent | undefined {
  const first = element.indexOf('\n');
  const second = element.indexOf('\n', first + 1);
  const third = element.indexOf('\n', second + 1);
  const fourth = element.indexOf('\n', third + 1);
  if (first < 0 || second < 0 || third < 0 || fourth < 0) return undefined;
  return {
    position: element.slice(0, first),
    delivery: element.slice(first + 1, second),
    streamKey: element.slice(second + 1, third),
    message: element.slice(fourth + 1),
  };
}
