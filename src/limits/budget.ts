import { LimitExceeded, type LimitScope } from './limit-exceeded.js';

export interface BudgetBound {
  /** 0 = no bound. */
  limit: number;
  setting: string;
  scope: LimitScope;
  what: string;
}

/**
 * Counts what this process holds, per key (a user, an address) and in all, and
 * refuses past either bound. `acquire` returns the function that gives the unit
 * back (idempotent), so a holder cannot release twice or forget which key it
 * counted under.
 */
export class Budget {
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly perKey: BudgetBound,
    private readonly overall: BudgetBound,
  ) {}

  /** Takes one unit for `key`, or throws LimitExceeded naming the bound that is reached. */
  acquire(key: string): () => void {
    const held = this.counts.get(key) ?? 0;
    if (this.perKey.limit > 0 && held >= this.perKey.limit) throw exceeded(this.perKey);
    if (this.overall.limit > 0 && this.total >= this.overall.limit) throw exceeded(this.overall);
    return this.hold(key);
  }

  /**
   * Counts one unit for `key` whatever the bounds: for what was admitted before,
   * elsewhere (a session rebuilt on this instance keeps what it had).
   */
  hold(key: string): () => void {
    const held = this.counts.get(key) ?? 0;
    this.counts.set(key, held + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left <= 0) this.counts.delete(key);
      else this.counts.set(key, left);
    };
  }

  /** Units held for `key` (or in all). */
  held(key?: string): number {
    return key === undefined ? this.total : (this.counts.get(key) ?? 0);
  }
}

function exceeded(bound: BudgetBound): LimitExceeded {
  return new LimitExceeded(bound.setting, bound.limit, bound.scope, bound.what);
}
