import type { Response } from 'express';

/**
 * Server-Sent Events framing over one HTTP response. Writing after the client
 * went away is a no-op, never an error.
 */
export class SseWriter {
  private opened = false;

  constructor(private readonly res: Response) {}

  get isOpen(): boolean {
    return this.opened && !this.res.writableEnded && !this.res.destroyed;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  open(headers: Record<string, string> = {}): void {
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
    this.res.flushHeaders();
  }

  /** Sends one event; `data` is written as a single line (JSON never contains raw newlines). */
  event(data: string, options: { id?: string; name?: string } = {}): void {
    if (!this.isOpen) return;
    const id = options.id ? `id: ${options.id}\n` : '';
    this.res.write(`${id}event: ${options.name ?? 'message'}\ndata: ${data}\n\n`);
  }

  /** An event with an id and no data: the point a client can resume from (SEP-1699). */
  prime(id: string, retryMs: number): void {
    if (this.isOpen) this.res.write(`id: ${id}\nretry: ${retryMs}\ndata: \n\n`);
  }

  comment(text: string): void {
    if (this.isOpen) this.res.write(`: ${text}\n\n`);
  }

  /** Ends the stream telling the client when to reconnect. */
  endWithRetry(retryMs: number): void {
    if (this.isOpen) this.res.write(`retry: ${retryMs}\n\n`);
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
