import type { Response } from 'express';

/**
 * Server-Sent Events framing over one HTTP response. Events written before the
 * stream is opened are kept and sent at open (a reply may beat the last publish
 * of a batch). Writing after the client went away is a no-op, never an error.
 */
export class SseWriter {
  private opened = false;
  private early: string[] = [];

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
    for (const frame of this.early) this.res.write(frame);
    this.early = [];
  }

  /** Sends one event; `data` is written as a single line (JSON never contains raw newlines). */
  event(data: string, name?: string): void {
    const frame = `event: ${name ?? 'message'}\ndata: ${data}\n\n`;
    if (this.isOpen) this.res.write(frame);
    else if (!this.opened && !this.res.writableEnded) this.early.push(frame);
  }

  comment(text: string): void {
    if (this.isOpen) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
