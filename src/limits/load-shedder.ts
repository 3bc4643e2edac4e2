import v8 from 'node:v8';
import { LimitExceeded } from './limit-exceeded.js';

export interface SheddingThresholds {
  /** Share of V8's heap limit in use (SHED_HEAP_PERCENT); 0 = not watched. */
  heapPercent: number;
  /** Resident set size in bytes (SHED_RSS_MB); 0 = not watched. */
  rssBytes: number;
}

/** How often memory is sampled: one timer per process. */
const SAMPLE_EVERY_MS = 1000;

/** What a refused client is told to wait before trying again (another instance may take it meanwhile). */
const RETRY_AFTER_S = 5;

/**
 * Refuses new work before the process is in danger. Memory is sampled once a
 * second; while the heap in use or the resident set is above its threshold,
 * `refusal` names it, and new sessions, calls and streams are answered 503
 * with Retry-After (running work goes on, and its end brings memory back down).
 */
export class LoadShedder {
  private current: LimitExceeded | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly thresholds: SheddingThresholds) {}

  start(): void {
    if (this.thresholds.heapPercent <= 0 && this.thresholds.rssBytes <= 0) return;
    this.check();
    this.timer = setInterval(() => this.check(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Why new work is refused right now; undefined while memory is within bounds. */
  get refusal(): LimitExceeded | undefined {
    return this.current;
  }

  /** Samples now (also what the timer does). */
  check(): void {
    const { heapUsed, heapLimit, rss } = sampleMemory();
    const { heapPercent, rssBytes } = this.thresholds;
    const heapShare = (heapUsed / heapLimit) * 100;
    if (heapPercent > 0 && heapShare >= heapPercent) {
      this.current = new LimitExceeded('SHED_HEAP_PERCENT', heapPercent, 'instance', `memory in use on this instance (heap at ${Math.round(heapShare)} % of its limit)`, RETRY_AFTER_S);
    } else if (rssBytes > 0 && rss >= rssBytes) {
      const mb = Math.round(rssBytes / 1048576);
      this.current = new LimitExceeded('SHED_RSS_MB', mb, 'instance', `memory in use on this instance (${Math.round(rss / 1048576)} MB resident)`, RETRY_AFTER_S);
    } else this.current = undefined;
  }
}

function sampleMemory(): { heapUsed: number; heapLimit: number; rss: number } {
  const heap = v8.getHeapStatistics();
  return { heapUsed: heap.used_heap_size, heapLimit: heap.heap_size_limit, rss: process.memoryUsage.rss() };
}
