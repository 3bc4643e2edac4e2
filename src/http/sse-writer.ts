import type { Response } from 'express';

/**
 * Server-Sent Events framing over one HTTP response. Writing after the client
 * went away is a no-op, never an error. Everything written in one tick (headers,
 * events, the end) leaves in one socket write.
 */
export class SseWriter {
  private opened = false;
  private corked = false;

  constructor(private readonly res: Response) {}

  get isOpen(): boolean {
    return this.opened && !this.res.writableEnded && !this.res.destroyed;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  /**
   * Starts the response. `flush` sends the headers at once; otherwise they leave
   * with the first event (a POST stream needs no empty 200 ahead of its reply).
   */
  open(headers: Record<string, string> = {}, flush = true): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Proxies such as nginx must not buffer a stream.
      'X-Accel-Buffering': 'no',
      ...headers,
    });
    this.opened = true;
    if (flush) this.res.flushHeaders();
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
    if (!this.res.writableEnded) this.res.end();
  }

  private write(frame: string): void {
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    this.res.write(frame);
  }
}
