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
/** What streamKeyFor makes: `n:` and a number as JavaScript writes it (exponents included), `s:` and an encoded string. */
const STREAM_KEY = /^(n:-?\d+(\.\d+)?(e[+-]\d+)?|s:\S*|__GET_stream)$/;

export function formatEventId(id: EventId): string {
  return `${id.position}~${id.delivery}~${id.streamKey}`;
}

/** Parses a Last-Event-ID; undefined for anything we did not issue. */
/**
 * The longest stream key: a string request id of MAX_ID_LENGTH's largest value
 * (1024), every character percent-encoded (up to nine characters each). It fits
 * in a Last-Event-ID header within Node's 16 KB of headers.
 */
const MAX_STREAM_KEY = 2 + 9 * 1024;

export function parseEventId(value: string): EventId | undefined {
  if (value.length > 100 + MAX_STREAM_KEY) return undefined;
  const first = value.indexOf('~');
  const second = value.indexOf('~', first + 1);
  if (first < 0 || second < 0) return undefined;
  const position = value.slice(0, first);
  const delivery = value.slice(first + 1, second);
  const streamKey = value.slice(second + 1);
  if (!POSITION.test(position) || !/^[\w.]{0,64}$/.test(delivery) || !STREAM_KEY.test(streamKey) || streamKey.length > MAX_STREAM_KEY) {
    return undefined;
  }
  return { position, delivery, streamKey };
}
