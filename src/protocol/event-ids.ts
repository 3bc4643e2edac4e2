/**
 * Positions in a session's event log ("<ms>-<seq>") and the SSE event ids built
 * from them: part of what a client sees and sends back (Last-Event-ID).
 */

/** How long a client waits before reconnecting to a stream the server closed (SSE `retry`). */
export const POLL_RETRY_MS = 1000;

/** Clients of this revision on get priming events and can resume a stream the server closed mid-request (SEP-1699). */
export const POLLING_SINCE = '2025-11-25';

/** One message in a session's event log. */
export interface StoredEvent {
  /** Position in the session's event log ("<ms>-<seq>", ordered). */
  position: string;
  streamKey: string;
  /** Delivery id of the HTTP request the stream answers; '' for the standalone stream. */
  delivery: string;
  /** The JSON-RPC message, serialized. */
  message: string;
}

/** Orders two positions "<ms>-<seq>". */
export function comparePositions(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
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
