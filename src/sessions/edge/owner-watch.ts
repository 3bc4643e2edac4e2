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
 * each owner's lease is checked at most once per recheck period.
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
      this.timer = setInterval(() => void this.check(), this.lease.recheckMs);
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

  private async check(): Promise<void> {
    const cutoff = Date.now() - this.lease.recheckMs;
    const owners = new Set<string>();
    for (const dependent of this.waiting) if (dependent.startedAt <= cutoff) owners.add(dependent.ownerInstanceId);
    for (const owner of owners) {
      let alive: boolean;
      try {
        alive = await this.lease.isAlive(owner);
      } catch {
        continue; // Redis unreachable: no verdict; the deadline still bounds the wait
      }
      if (alive) continue;
      this.logger.warn('session owner lost', { ownerInstanceId: owner });
      for (const dependent of [...this.waiting]) {
        if (dependent.ownerInstanceId === owner) {
          this.remove(dependent);
          dependent.ownerLost();
        }
      }
    }
  }
}
