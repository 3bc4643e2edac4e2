import os from 'node:os';
import { keys } from '../protocol/channels.js';
import type { KeyValueStore } from '../store/kv.js';
import type { Logger } from '../observability/logger.js';

/**
 * Liveness of instances. Each instance holds a lease key that it renews at a third
 * of its TTL; an instance whose lease lapsed is dead, and the sessions it owned
 * are gone. Other instances' answers are cached briefly so that checking an owner
 * costs nothing per request.
 */
/** Instances counted at most (a registry larger than this is not a deployment we serve). */
const MAX_INSTANCES = 10_000;

export class InstanceLease {
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly verdicts = new Map<string, { alive: boolean; checkedAt: number }>();
  /** Checks under way, so that concurrent requests share one EXISTS per owner. */
  private readonly checking = new Map<string, Promise<boolean>>();
  private readonly value: string;
  /** Until when (ms since epoch) a missing lease proves nothing (see afterReconnect). */
  private doubtUntil = 0;
  private live: { at: number; count: number } | undefined;

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
    await Promise.all([
      this.kv.delIfEquals(keys.instanceLease(this.instanceId), this.value).catch(() => false),
      this.kv.removeBounded(keys.instances, this.instanceId).catch(() => undefined),
    ]);
  }

  /**
   * Instances alive now, all of them: those whose registration (renewed with
   * their lease) has not lapsed. Read from the store, not from a pub/sub
   * receiver count, which a Redis Cluster gives per node only. Cached briefly.
   */
  async liveInstances(): Promise<number> {
    if (this.live && Date.now() - this.live.at < this.recheckMs) return this.live.count;
    const count = Math.max(1, (await this.kv.boundedMembers(keys.instances, MAX_INSTANCES)).length);
    this.live = { at: Date.now(), count };
    return count;
  }

  /**
   * Redis came back, perhaps without any key: this lease is written again at
   * once, and for `windowMs` (while the other instances reconnect and write
   * theirs) an instance whose lease is missing is not taken for dead.
   */
  async afterReconnect(windowMs: number): Promise<void> {
    this.doubtUntil = Date.now() + windowMs;
    this.verdicts.clear();
    await this.renew();
  }

  /** Whether Redis came back so recently that missing keys may still be rewritten (see afterReconnect). */
  get recovering(): boolean {
    return Date.now() < this.doubtUntil;
  }

  async isAlive(instanceId: string): Promise<boolean> {
    if (instanceId === this.instanceId) return true;
    const cached = this.verdicts.get(instanceId);
    if (cached && Date.now() - cached.checkedAt < this.recheckMs) return cached.alive;
    let check = this.checking.get(instanceId);
    if (!check) {
      check = this.kv
        .existing([keys.instanceLease(instanceId)])
        .then(([present]) => {
          const alive = present === true || this.recovering;
          this.verdicts.set(instanceId, { alive, checkedAt: Date.now() });
          if (this.verdicts.size > 1000) this.pruneVerdicts();
          return alive;
        })
        .finally(() => this.checking.delete(instanceId));
      this.checking.set(instanceId, check);
    }
    return check;
  }

  /**
   * Touches the lease, or writes it when missing: Redis at maxmemory still allows the touch.
   * The registration among all instances is best effort (Redis at maxmemory may refuse it).
   */
  private async renew(): Promise<void> {
    const now = Date.now();
    void this.kv.refreshMember(keys.instances, this.instanceId, now + this.ttlMs, this.ttlMs).catch(() => undefined);
    await this.kv.renew(keys.instanceLease(this.instanceId), this.value, this.ttlMs);
  }

  private pruneVerdicts(): void {
    const cutoff = Date.now() - this.recheckMs;
    for (const [id, verdict] of this.verdicts) if (verdict.checkedAt < cutoff) this.verdicts.delete(id);
  }
}
