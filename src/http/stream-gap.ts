import type { StoredEvent } from '../routing/event-store.js';

/** How long to wait before reading the event log again when Redis failed the read. */
const READ_RETRY_MS = 250;

/** What a stream lends its gap: its log position, the log, and how it writes. */
export interface GapHost {
  /** The position of the last message written (where the stream stands in the event log). */
  lastPosition(): string;
  readAfter(position: string): Promise<StoredEvent[]>;
  /** Writes a message read from the log (the host drops what it already wrote). */
  writeStored(event: StoredEvent): void;
  isOver(): boolean;
  warn(message: string, error: Error): void;
}

/**
 * One stream's way across a loss of the subscriber connection. Whatever the
 * owner published while the connection was away never arrives, but it is in the
 * session's event log. From the moment the connection goes (`lost`), live
 * messages wait; once Redis confirmed the resubscriptions (`restored`), the log
 * is read from the last position written before the loss, written in order,
 * then the waiting live messages (the host drops repeats by position). A read
 * that fails is retried until it works or the stream is over; a loss during the
 * read voids it: the next `restored` reads the whole gap again before anything
 * waiting is let through.
 */
export class StreamGap {
  private state: 'live' | 'away' | 'reading' = 'live';
  private from = '0-0';
  /** Counts reads started and losses: a read that is no longer the latest gives way. */
  private generation = 0;
  private waiting: Array<() => void> = [];
  /** Nothing is written before the stream opens: a gap that closes earlier is read then. */
  private open = false;
  private restoredBeforeOpen = false;

  constructor(private readonly host: GapHost) {}

  /** The stream started writing (what it held meanwhile went through hold()). */
  opened(): void {
    this.open = true;
    if (this.restoredBeforeOpen) this.restored();
  }

  /** Keeps a live message back while the stream is crossing a gap; false when it may be written now. */
  hold(deliver: () => void): boolean {
    if (this.state === 'live') return false;
    this.waiting.push(deliver);
    return true;
  }

  lost(): void {
    if (this.state === 'live') this.from = this.host.lastPosition();
    // A read under way covers only part of the gap now: the next restored() reads again.
    if (this.state !== 'away') this.generation += 1;
    this.state = 'away';
  }

  restored(): void {
    if (!this.open) {
      // Read once open; what arrives until then waits too.
      this.lost();
      this.restoredBeforeOpen = true;
      return;
    }
    // Never told of the loss (it came first): what was written last is where the gap starts.
    if (this.state === 'live') this.from = this.host.lastPosition();
    this.state = 'reading';
    this.generation += 1;
    void this.read(this.generation);
  }

  private async read(generation: number): Promise<void> {
    let missed: StoredEvent[] | undefined;
    while (!missed) {
      try {
        missed = await this.host.readAfter(this.from);
      } catch (error) {
        if (this.host.isOver()) return;
        this.host.warn('could not read missed messages from the event log', error as Error);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
      }
      if (generation !== this.generation) return;
    }
    const waiting = this.waiting;
    this.waiting = [];
    this.state = 'live';
    if (this.host.isOver()) return;
    for (const event of missed) this.host.writeStored(event);
    for (const deliver of waiting) deliver();
  }
}
