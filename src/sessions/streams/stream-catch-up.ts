import { EVENTS_PER_READ } from '../../store/event-store.js';
import { comparePositions, type StoredEvent } from '../../protocol/event-ids.js';

/** How long to wait before reading the event log again when Redis failed the read. */
const READ_RETRY_MS = 250;

/** Live messages kept back while a stream reads the log; past this the log is read again instead. */
const MAX_KEPT_BACK = 1000;

/** What a stream lends its catch-up: its log position, the log, and how it writes. */
export interface CatchUpHost {
  /** The position of the last message written (where the stream stands in the event log). */
  lastPosition(): string;
  /** The stream's events after a position, at most EVENTS_PER_READ of them. */
  readAfter(position: string): Promise<StoredEvent[]>;
  /** Writes a message read from the log (the host drops what it already wrote). */
  writeStored(event: StoredEvent): void;
  isOver(): boolean;
  /** The client left unread more than the stream may hold. */
  isFull(): boolean;
  /** Resolves once the client read what the stream holds, or the stream ended. */
  drained(): Promise<void>;
  /**
   * Messages the stream dropped while its client was behind are no longer in the
   * log (trimmed to its bounds before the client read again): the stream cannot
   * be complete any more, and must say so and end.
   */
  lostForGood(): void;
  warn(message: string, error: Error): void;
}

interface KeptBack {
  /** Where the message is in the event log, if it is: then it can be dropped and read again. */
  position: string | undefined;
  deliver: () => void;
}

/**
 * How a stream stays complete without holding what its client does not take,
 * using the session's event log, where every message with a position is kept:
 *
 * - **Backpressure.** When the client leaves more unread than the stream may hold
 *   (`wrote` finds it full), the stream falls *behind*: live messages that are in
 *   the log are dropped, not buffered. Once the client read what the socket
 *   holds (`drained`), the stream reads the log from the last position written,
 *   a bounded page at a time, and writes it; then it is live again. A slow
 *   reader gets everything at its own pace; the process holds at most one
 *   stream's bound (plus the last message) for it.
 * - **A lost subscriber connection.** Whatever the owner published while the
 *   connection was away never arrives, but it is in the log. From the moment the
 *   connection goes (`lost`), live messages wait; once Redis confirmed the
 *   resubscriptions (`restored`), the log is read from the last position written.
 *
 * Messages without a position (control envelopes, which are not in the log) are
 * never dropped: they wait, in order, and go out after what the log held. A read
 * that fails is retried until it works or the stream is over; a loss or a
 * fall-behind during a read voids it (the next catch-up reads the whole gap).
 */
export class StreamCatchUp {
  private state: 'live' | 'away' | 'behind' | 'reading' = 'live';
  /** Counts reads started, losses and fall-behinds: a read that is no longer the latest gives way. */
  private generation = 0;
  private keptBack: KeptBack[] = [];
  /** Live messages in the log dropped during a read (too many kept back): read the log again after it. */
  private readAgain = false;
  /**
   * The first message dropped since the stream last caught up: the next read must
   * start with it, or the log lost it (and maybe more) before the client read again.
   */
  private firstDropped: string | undefined;
  /** Nothing is written before the stream opens: a gap that closes earlier is read then. */
  private open = false;
  private restoredBeforeOpen = false;

  constructor(private readonly host: CatchUpHost) {}

  /** The stream started writing (what it held meanwhile went through hold()). */
  opened(): void {
    this.open = true;
    if (this.restoredBeforeOpen) {
      this.restoredBeforeOpen = false;
      this.restored();
    } else this.wrote();
  }

  /**
   * Keeps a live message back while the stream is catching up (or drops it when
   * it is in the log and the client is behind); false when it may be written now.
   */
  hold(deliver: () => void, position: string | undefined): boolean {
    if (this.state === 'live') return false;
    if (position !== undefined && this.state === 'behind') {
      this.drop(position);
      return true;
    }
    if (position !== undefined && this.state === 'reading' && this.keptBack.length >= MAX_KEPT_BACK) {
      this.drop(position);
      this.readAgain = true;
      return true;
    }
    this.keptBack.push({ position, deliver });
    return true;
  }

  /** Called after every write: a client that stopped reading puts the stream behind. */
  wrote(): void {
    if (!this.open || this.state === 'away' || this.state === 'behind' || this.host.isOver()) return;
    if (this.host.isFull()) this.fallBehind();
  }

  lost(): void {
    // A read under way covers only part of the gap now: the next restored() reads again.
    this.generation += 1;
    this.state = 'away';
  }

  restored(): void {
    if (!this.open) {
      // Read once open; what arrives until then waits too.
      this.lost();
      this.restoredBeforeOpen = true;
      return;
    }
    this.catchUp();
  }

  private drop(position: string): void {
    this.firstDropped ??= position;
  }

  private fallBehind(): void {
    this.state = 'behind';
    const generation = ++this.generation;
    // What waited and is in the log will be read from there.
    this.keptBack = this.keptBack.filter((kept) => {
      if (kept.position !== undefined) this.drop(kept.position);
      return kept.position === undefined;
    });
    void this.host.drained().then(() => {
      if (generation === this.generation && !this.host.isOver()) this.catchUp();
    });
  }

  private catchUp(): void {
    this.state = 'reading';
    void this.read(++this.generation);
  }

  private async read(generation: number): Promise<void> {
    for (;;) {
      this.readAgain = false;
      const missed = await this.readPage(generation);
      if (!missed || generation !== this.generation || this.host.isOver()) return;
      if (this.firstDropped !== undefined && comparePositions(this.firstDropped, this.host.lastPosition()) <= 0) {
        this.firstDropped = undefined; // written since
      }
      if (this.firstDropped !== undefined && !(missed[0] && comparePositions(missed[0].position, this.firstDropped) <= 0)) {
        // The log is trimmed from its oldest end: when what follows the last message written
        // comes after the first dropped one, that one (and maybe more) is gone.
        this.host.lostForGood();
        return;
      }
      for (const event of missed) {
        this.host.writeStored(event);
        this.wrote();
        if (generation !== this.generation) return; // fell behind: resumes after the drain
      }
      if (missed.length < EVENTS_PER_READ && !this.readAgain) break;
    }
    // Caught up with the log: whatever was dropped before is written (or was found lost above).
    this.firstDropped = undefined;
    const keptBack = this.keptBack;
    this.keptBack = [];
    this.state = 'live';
    for (let i = 0; i < keptBack.length; i++) {
      keptBack[i]!.deliver();
      if (this.host.isOver()) return;
      if (this.state !== 'live') {
        // Behind again: what is in the log is read from there; the rest keeps its order.
        const rest = keptBack.slice(i + 1);
        for (const kept of rest) if (kept.position !== undefined) this.drop(kept.position);
        this.keptBack.unshift(...rest.filter((kept) => kept.position === undefined));
        return;
      }
    }
  }

  /** One page of the log after the last position written; retried while Redis fails it. */
  private async readPage(generation: number): Promise<StoredEvent[] | undefined> {
    for (;;) {
      try {
        return await this.host.readAfter(this.host.lastPosition());
      } catch (error) {
        if (this.host.isOver() || generation !== this.generation) return undefined;
        this.host.warn('could not read missed messages from the event log', error as Error);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
      }
      if (generation !== this.generation) return undefined;
    }
  }
}
