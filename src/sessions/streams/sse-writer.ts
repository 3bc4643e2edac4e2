import type { Response } from 'express';

/** A stream's bounds (STREAM_BUFFER_MAX_BYTES, STREAM_LINGER_S). */
export interface SseBounds {
  maxBufferedBytes: number;
  lingerMs: number;
}

/** A stream's bounds from the instance's settings. */
export function streamBounds(config: { limits: { streamBufferBytes: number; streamLingerMs: number } }): SseBounds {
  return { maxBufferedBytes: config.limits.streamBufferBytes, lingerMs: config.limits.streamLingerMs };
}

/**
 * Server-Sent Events framing over one HTTP response. Writing after the client
 * went away is a no-op, never an error. Everything written in one tick (headers,
 * events, the end) leaves in one socket write. `isFull` tells when the client
 * left more unread than the stream may hold (STREAM_BUFFER_MAX_BYTES): the
 * stream then stops writing (and catches up from the event log once `drained`),
 * or is cut.
 *
 * A response opened with `mayAnswerWithJson` is still undecided: it becomes an
 * event stream with the first event, comment or end, unless `answerWithJson`
 * comes first, which sends one JSON object instead (Streamable HTTP lets the
 * server choose either for a request).
 */
export class SseWriter {
  private opened = false;
  private corked = false;
  /** Whether the client left more unread than the bound, as of the end of the last tick that wrote. */
  private full = false;
  /** The extra headers of a response that may still be one JSON object. */
  private undecided: Record<string, string> | undefined;

  constructor(
    private readonly res: Response,
    bounds: SseBounds = { maxBufferedBytes: Number.POSITIVE_INFINITY, lingerMs: 30_000 },
  ) {
    this.maxBufferedBytes = bounds.maxBufferedBytes;
    this.lingerMs = bounds.lingerMs;
  }

  /** Bytes the client may leave unread (in this process's buffers) before the stream counts as full. */
  private readonly maxBufferedBytes: number;
  /** How long an ended response may wait for its client to read what it still holds. */
  private readonly lingerMs: number;

  get isOpen(): boolean {
    return this.opened && !this.res.writableEnded && !this.res.destroyed;
  }

  /**
   * The client has left more unread than the stream may hold. Judged once a
   * tick's writes went to the socket (which then takes what the kernel accepts):
   * a burst written in one tick to a client that reads is not mistaken for one
   * that does not.
   */
  get isFull(): boolean {
    return this.full && this.res.writableLength > this.maxBufferedBytes;
  }

  /**
   * Resolves once the client read what the socket held, or the response ended.
   * A client that reads nothing for STREAM_LINGER_S is taken for gone: the
   * response is cut (a Streamable HTTP client resumes it with Last-Event-ID).
   */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.isOpen) return resolve();
      if (!this.res.writableNeedDrain) {
        this.full = this.res.writableLength > this.maxBufferedBytes;
        return void setImmediate(resolve);
      }
      const stalled = setTimeout(() => this.res.destroy(), this.lingerMs);
      stalled.unref();
      const done = () => {
        clearTimeout(stalled);
        this.res.off('drain', done);
        this.res.off('close', done);
        this.full = false;
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Ends the response at once, dropping what it holds: its client stopped reading. */
  cut(): void {
    this.res.destroy();
  }

  /**
   * Starts the response. `flush` sends the headers at once; otherwise they leave
   * with the first event (a POST stream needs no empty 200 ahead of its reply).
   */
  open(headers: Record<string, string> = {}, flush = true, options: { mayAnswerWithJson?: boolean } = {}): void {
    if (this.res.headersSent) return;
    this.opened = true;
    if (options.mayAnswerWithJson) {
      this.undecided = headers;
      return;
    }
    this.startStream(headers);
    if (flush) this.res.flushHeaders();
  }

  /**
   * Sends `json` as the whole response, when nothing was written yet and the
   * response was opened with `mayAnswerWithJson`; false (nothing done) otherwise.
   */
  answerWithJson(json: string): boolean {
    const headers = this.undecided;
    if (!headers || !this.isOpen) return false;
    this.undecided = undefined;
    this.startResponse('application/json', headers);
    this.res.end(json);
    this.dropUnreadLater();
    return true;
  }

  /**
   * For a stream that stays open long: Node keeps the response's header text,
   * built from dozens of small pieces (about 2 KB per stream until flattened),
   * and the table it was built from. Reading the text through indexOf makes V8
   * flatten it in place, freeing the pieces; the table goes. Call after the
   * first write (the header exists from then on).
   */
  compact(): void {
    (this.res as unknown as { _header?: string | null })._header?.indexOf('\n');
    // The table of headers to send is of no use once they were sent (Node reads it only to
    // build them, and answers getHeader from it): a long-lived stream need not keep it.
    const table = Object.getOwnPropertySymbols(this.res).find((symbol) => symbol.description === 'kOutHeaders');
    if (table && this.res.headersSent) (this.res as unknown as Record<symbol, unknown>)[table] = null;
  }

  /** Sends one event; `data` is written as a single line (JSON never contains raw newlines). */
  event(data: string, options: { id?: string; name?: string } = {}): void {
    if (!this.isOpen) return;
    const id = options.id ? `id: ${options.id}\n` : '';
    this.write(`${id}event: ${options.name ?? 'message'}\ndata: ${data}\n\n`);
  }

  /** An event with an id and no data: the point a client can resume from (SEP-1699). */
  prime(id: string, retryMs: number): void {
    if (this.isOpen) this.write(`id: ${id}\nretry: ${retryMs}\ndata: \n\n`);
  }

  comment(text: string): void {
    if (this.isOpen) this.write(`: ${text}\n\n`);
  }

  /** Ends the stream telling the client when to reconnect. */
  endWithRetry(retryMs: number): void {
    if (this.isOpen) this.write(`retry: ${retryMs}\n\n`);
    this.end();
  }

  end(): void {
    if (this.res.writableEnded) return;
    this.decideStream();
    this.res.end();
    this.dropUnreadLater();
  }

  /**
   * Ends the stream for good (its session is gone): a client that keeps up gets
   * the end as usual; one that is behind gets nothing more. Whether the bound was
   * reached does not matter: anything still unread here once this tick's writes
   * went to the socket (which takes what the kernel accepts) means the client
   * does not read, and the connection is dropped with those bytes at once
   * instead of lingering STREAM_LINGER_S for a reader that has no use for them.
   */
  endDroppingUnread(): void {
    this.end();
    if (this.res.destroyed || this.res.writableFinished) return;
    setImmediate(() => {
      if (!this.res.writableFinished) this.res.destroy();
    });
  }

  /**
   * An ended response whose client does not read would keep its unread bytes
   * (and its socket) for as long as the client likes: Node's timeouts only time
   * a request's arrival. It gets STREAM_LINGER_S to be read, then is destroyed.
   */
  private dropUnreadLater(): void {
    if (this.res.writableFinished) return;
    const timer = setTimeout(() => this.res.destroy(), this.lingerMs);
    timer.unref();
    this.res.once('close', () => clearTimeout(timer));
  }

  private startStream(headers: Record<string, string>): void {
    this.startResponse('text/event-stream', headers);
    this.res.setHeader('Cache-Control', 'no-cache, no-transform');
    // Proxies such as nginx must not buffer a stream. (Connection: keep-alive is Node's to add.)
    this.res.setHeader('X-Accel-Buffering', 'no');
  }

  private startResponse(contentType: string, headers: Record<string, string>): void {
    // Set one by one rather than through writeHead(200, {...}), which copies them in again.
    this.res.statusCode = 200;
    this.res.setHeader('Content-Type', contentType);
    for (const name in headers) this.res.setHeader(name, headers[name]!);
  }

  /** An undecided response becomes an event stream: something other than one JSON answer comes. */
  private decideStream(): void {
    if (!this.undecided || this.res.headersSent) return;
    const headers = this.undecided;
    this.undecided = undefined;
    this.startStream(headers);
  }

  private write(frame: string): void {
    this.decideStream();
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
        this.full = this.res.writableLength > this.maxBufferedBytes;
      });
    }
    this.res.write(frame);
  }
}
