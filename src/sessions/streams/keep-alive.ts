import type { SseWriter } from './sse-writer.js';

/**
 * Comments on idle event streams, so that proxies and load balancers do not cut
 * them. One timer for all streams, running only while some stream is open.
 */
export class KeepAlive {
  private readonly writers = new Set<SseWriter>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 15_000) {}

  add(writer: SseWriter): void {
    this.writers.add(writer);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const w of this.writers) w.comment('keep-alive');
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  remove(writer: SseWriter): void {
    this.writers.delete(writer);
    if (this.writers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
