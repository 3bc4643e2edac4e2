import type { Response } from 'express';
import { comparePositions, type StoredEvent } from '../../protocol/event-ids.js';
import { envelope, type ToClientEnvelope } from '../../protocol/envelopes.js';
import { SseWriter } from './sse-writer.js';
import type { StreamContext } from './stream-context.js';
import { StreamCatchUp } from './stream-catch-up.js';

export interface LoggedStreamHost {
  sessionId: string;
  /** For the log lines: which kind of stream this is. */
  kind: 'request' | 'standalone';
  /** Where in the session's event log the stream starts (its client has everything up to it). */
  after?: string;
  /** The stream's events after a position (bounded page). */
  readAfter(position: string): Promise<StoredEvent[]>;
  /** Writes one message the way this kind of stream does; `fresh` said it is new to the stream. */
  write(streamKey: string, message: ToClientEnvelope): void;
  isOver(): boolean;
  /** The client fell so far behind that the log no longer holds what it missed. */
  lostForGood(): void;
}

/**
 * The core every client stream of a Streamable HTTP session shares (request
 * and standalone streams): the SSE writer and its unread-bytes bound, messages
 * that arrive before the stream opens kept in order, de-duplication by log
 * position (a replay and live messages never repeat), and the crossing of gaps
 * (backpressure, a lost subscriber connection) from the event log. What a
 * message means to the stream (an answer, a rejection, the end) is its kind's.
 */
export class LoggedStream {
  readonly writer: SseWriter;
  /** Messages that arrived before open(), in order. */
  private waiting: Array<{ streamKey: string; message: ToClientEnvelope }> | undefined = [];
  /** The last log position written (or resumed from). */
  private last: string;
  private readonly catchUp: StreamCatchUp;

  constructor(ctx: StreamContext, res: Response, private readonly host: LoggedStreamHost) {
    this.writer = new SseWriter(res, ctx.bounds);
    this.last = host.after ?? '0-0';
    const { sessionId, kind } = host;
    this.catchUp = new StreamCatchUp({
      lastPosition: () => this.last,
      readAfter: (position) => host.readAfter(position),
      writeStored: (event) => host.write(event.streamKey, envelope.stored(event)),
      isOver: () => host.isOver(),
      isFull: () => this.writer.isFull,
      drained: () => this.writer.drained(),
      lostForGood: () => {
        ctx.logger.warn('stream ended: its client did not read in time', { sessionId, kind });
        host.lostForGood();
      },
      warn: (message, error) => ctx.logger.warn(message, { sessionId, error: error.message }),
    });
  }

  get lastPosition(): string {
    return this.last;
  }

  /** Whether the stream is still before open() (messages wait). */
  get isWaiting(): boolean {
    return this.waiting !== undefined;
  }

  /**
   * Whether a message at `position` is new to the stream, which then stands at
   * it. Messages without a position (not in the log) are always new.
   */
  fresh(position: string | undefined): boolean {
    if (!position) return true;
    if (comparePositions(position, this.last) <= 0) return false;
    this.last = position;
    return true;
  }

  /** A live message: kept until open(); then written now, or after what the log holds while the stream catches up. */
  live(streamKey: string, message: ToClientEnvelope): void {
    if (this.waiting) {
      this.waiting.push({ streamKey, message });
      return;
    }
    const write = () => {
      this.host.write(streamKey, message);
      this.catchUp.wrote();
    };
    // The session ended: nothing that waits matters any more, and the stream ends now.
    if (message.type === 'terminated' || !this.catchUp.hold(write, message.type === 'message' ? message.position : undefined)) write();
  }

  /** Writes what the log gave (a resume), then what arrived meanwhile; from now on messages are live. */
  flush(replay: StoredEvent[] = []): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const event of replay) this.host.write(event.streamKey, envelope.stored(event));
    for (const { streamKey, message } of waiting) this.live(streamKey, message);
  }

  /** Drops what waits: the stream ends before it opened. */
  discard(): void {
    this.waiting = undefined;
  }

  /** The stream is open and written: gaps found from now on are crossed (one found before is read now). */
  started(): void {
    this.catchUp.opened();
  }

  /** The subscriber connection was lost: live messages wait from now on. */
  lost(): void {
    this.catchUp.lost();
  }

  /** The subscriptions are back: what was missed is read from the log. */
  restored(): void {
    this.catchUp.restored();
  }
}
