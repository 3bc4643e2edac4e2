/**
 * Server→client messages of Streamable HTTP sessions, kept (with a TTL) so that a
 * client whose stream broke resumes it with Last-Event-ID — on any instance.
 * The owner appends every message before publishing it; a resume replays what the
 * named stream received after the given event, then continues live.
 */

import type { StoredEvent } from '../protocol/event-ids.js';

/** Appends to one session's log. Only the session's owner writes it, through one writer. */
export interface EventLogWriter {
  /**
   * Appends one event (positions must increase within a session). The log never
   * holds more than its bounds (count and bytes; the newest event always stays):
   * past one, the oldest events are trimmed at once, down to three quarters of
   * each bound, so that trims are rare.
   */
  append(event: StoredEvent): Promise<void>;
}

export interface EventStore {
  /** The writer of a session's log; `lastPosition` is where the log ends ('0-0': empty, as for a new session). */
  writer(sessionId: string, lastPosition: string): EventLogWriter;
  /**
   * Events of one stream (by delivery) strictly after a position, in order, at
   * most `limit` of them: found by position (a binary search), never by reading
   * the whole log. Ask again from the last one returned for more.
   */
  after(sessionId: string, position: string, delivery: string, limit?: number): Promise<StoredEvent[]>;
  /** The highest position stored for a session ('0-0' when none). */
  lastPosition(sessionId: string): Promise<string>;
  /** Keeps sessions' logs alive (their TTL follows the session's); never writes, so Redis allows it at maxmemory. */
  touch(sessionIds: string[]): Promise<void>;
  remove(sessionId: string): Promise<void>;
}

/** A session's log keeps its newest events within both bounds; older ones cannot be replayed. */
export interface EventLogBounds {
  maxEvents: number;
  maxBytes: number;
}

/** What a trim keeps of each bound: the log then grows a quarter of its bounds before the next trim. */
export function keptAfterTrim(bounds: EventLogBounds): EventLogBounds {
  return { maxEvents: Math.max(1, Math.floor((bounds.maxEvents * 3) / 4)), maxBytes: Math.floor((bounds.maxBytes * 3) / 4) };
}

/** How many events one read returns at most (a stream catching up reads again from the last one). */
export const EVENTS_PER_READ = 200;

/** The size an event counts for in the log's byte bound. */
export function eventSize(event: StoredEvent): number {
  return event.position.length + event.delivery.length + event.streamKey.length + Buffer.byteLength(event.message) + 3;
}

/** Hands out increasing positions for one session's log, from this process's clock. */
export class PositionClock {
  private ms = 0;
  private seq = 0;

  constructor(last = '0-0') {
    const [ms = 0, seq = 0] = last.split('-').map(Number);
    this.ms = ms;
    this.seq = seq;
  }

  next(): string {
    const now = Date.now();
    if (now > this.ms) {
      this.ms = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.ms}-${this.seq}`;
  }
}
