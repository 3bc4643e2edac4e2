import os from 'node:os';
import { keys } from '../routing/channels.js';
import type { KeyValueStore } from '../routing/kv.js';
import type { Logger } from '../observability/logger.js';

/**
 * Liveness of instances. Each instance holds a lease key that it renews at a third
 * of its TTL; an instance whose lease lapsed is dead, and the sessions it owned
 * are gone. Other instances' answers are cached briefly so that checking an owner
 * costs nothing per request.
 */
export class InstanceLease {
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly verdicts = new Map<string, { alive: boolean; checkedAt: number }>();
  /** Checks under way, so that concurrent requests share one EXISTS per owner. */
  private readonly checking = new Map<string, Promise<boolean>>();
  private readonly value: string;

  constructor(
    readonly instanceId: string,
    private readonly kv: KeyValueStore,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.value = JSON.stringify({ host: os.hostname(), pid: process.pid, startedAt: Date.now() });
  }

  /** How long a cached verdict about another instance is trusted. */
  get recheckMs(): number {
    return Math.max(250, Math.floor(this.ttlMs / 5));
  }

  async start(): Promise<void> {
    await this.renew();
    this.renewTimer = setInterval(() => {
      this.renew().catch((error: Error) => this.logger.warn('lease renewal failed', { error: error.message }));
    }, Math.floor(this.ttlMs / 3));
    this.renewTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.renewTimer);
    await this.kv.delIfEquals(keys.instanceLease(this.instanceId), this.value).catch(() => false);
  }

  async isAlive(instanceId: string): Promise<boolean> {
    if (instanceId === this.instanceId) return true;
    const cached = this.verdicts.get(instanceId);
    if (cached && Date.now() - cached.checkedAt < this.recheckMs) return cached.alive;
    let check = this.checking.get(instanceId);
    if (!check) {
      check = this.kv
        .existing([keys.instanceLease(instanceId)])
        .then(([alive]) => {
          this.verdicts.set(instanceId, { alive: alive === true, checkedAt: Date.now() });
          if (this.verdicts.size > 1000) this.pruneVerdicts();
          return alive === true;
        })
        .finally(() => this.checking.delete(instanceId));
      this.checking.set(instanceId, check);
    }
    return check;
  }

  private async renew(): Promise<void> {
    await this.kv.set(keys.instanceLease(this.instanceId), this.value, this.ttlMs);
  }

  private pruneVerdicts(): void {
    const cutoff = Date.now() - this.recheckMs;
    for (const [id, verdict] of this.verdicts) if (verdict.checkedAt < cutoff) this.verdicts.delete(id);
  }
}
