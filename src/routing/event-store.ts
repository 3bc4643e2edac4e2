/**
 * Server→client messages of Streamable HTTP sessions, kept (with a TTL) so that a
 * client whose stream broke resumes it with Last-Event-ID — on any instance.
 * The owner appends every message before publishing it; a resume replays what the
 * named stream received after the given event, then continues live.
 */

export interface StoredEvent {
  /** Position in the session's event log ("<ms>-<seq>", ordered). */
  position: string;
  streamKey: string;
  /** Delivery id of the HTTP request the stream answers; '' for the standalone stream. */
  delivery: string;
  /** The JSON-RPC message, serialized. */
  message: string;
}

export interface EventStore {
  /** Appends one event at the given position (positions must increase within a session). */
  append(sessionId: string, event: StoredEvent): Promise<void>;
  /** Events of one stream (by delivery) strictly after a position, in order. */
  after(sessionId: string, position: string, delivery: string): Promise<StoredEvent[]>;
  /** The highest position stored for a session ('0-0' when none). */
  lastPosition(sessionId: string): Promise<string>;
  /** Keeps sessions' logs alive (their TTL follows the session's). */
  touch(sessionIds: string[]): Promise<void>;
  remove(sessionId: string): Promise<void>;
}

/** How many events a session keeps; older ones cannot be replayed. */
export const EVENTS_PER_SESSION = 1000;

/** Orders two positions "<ms>-<seq>". */
export function comparePositions(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
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

/**
 * The SSE event id a client sees: where the event sits in the log, and which
 * stream it belongs to, so that Last-Event-ID alone names the stream to resume.
 */
export interface EventId {
  position: string;
  delivery: string;
  streamKey: string;
}

const POSITION = /^\d{1,16}-\d{1,10}$/;

export function formatEventId(id: EventId): string {
  return `${id.position}~${id.delivery}~${id.streamKey}`;
}

/** Parses a Last-Event-ID; undefined for anything we did not issue. */
export function parseEventId(value: string): EventId | undefined {
  if (value.length > 600) return undefined;
  const first = value.indexOf('~');
  const second = value.indexOf('~', first + 1);
  if (first < 0 || second < 0) return undefined;
  const position = value.slice(0, first);
  const delivery = value.slice(first + 1, second);
  const streamKey = value.slice(second + 1);
  if (!POSITION.test(position) || !/^[\w.]{0,64}$/.test(delivery) || !/^(n:-?\d+(\.\d+)?|s:\S{0,512}|__GET_stream)$/.test(streamKey)) {
    return undefined;
  }
  return { position, delivery, streamKey };
}
