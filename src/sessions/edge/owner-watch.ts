import type { Logger } from '../../observability/logger.js';
import type { InstanceLease } from '../instance-lease.js';

/** A request waiting on a session owned by some instance. */
export interface OwnerDependent {
  readonly ownerInstanceId: string;
  readonly startedAt: number;
  ownerLost(): void;
}

/**
 * Ends requests whose session owner died, instead of letting them wait for their
 * deadline. One timer for the whole process, running only while requests wait;
 * each owner is judged (InstanceLease.isDead: its lease's remaining TTL, and only
 * when that is stale its liveness channel) at most once per heartbeat.
 */
export class OwnerWatch {
  private readonly waiting = new Set<OwnerDependent>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly lease: InstanceLease,
    private readonly logger: Logger,
  ) {}

  add(dependent: OwnerDependent): void {
    // We are alive by definition; '' is no instance (a session being handed over).
    if (dependent.ownerInstanceId === this.lease.instanceId || dependent.ownerInstanceId === '') return;
    this.waiting.add(dependent);
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.periodMs);
      this.timer.unref();
    }
  }

  remove(dependent: OwnerDependent): void {
    this.waiting.delete(dependent);
    if (this.waiting.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private get periodMs(): number {
    return Math.min(this.lease.recheckMs, this.lease.heartbeatMs);
  }

  private async check(): Promise<void> {
    const cutoff = Date.now() - this.periodMs;
    const owners = new Set<string>();
    for (const dependent of this.waiting) if (dependent.startedAt <= cutoff) owners.add(dependent.ownerInstanceId);
    // In parallel: judging a silent owner takes a while (see InstanceLease.isDead).
    await Promise.all([...owners].map((owner) => this.checkOwner(owner)));
  }

  private async checkOwner(owner: string): Promise<void> {
    let dead: boolean;
    try {
      dead = await this.lease.isDead(owner);
    } catch {
      return; // Redis unreachable: no verdict; the deadline still bounds the wait
    }
    if (!dead) return;
    this.logger.warn('session owner lost', { ownerInstanceId: owner });
    for (const dependent of [...this.waiting]) {
      if (dependent.ownerInstanceId === owner) {
        this.remove(dependent);
        dependent.ownerLost();
      }
    }
  }
}
