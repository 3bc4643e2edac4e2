import os from 'node:os';
import { channels, keys } from '../protocol/channels.js';
import type { MessageBus } from '../store/bus.js';
import type { KeyValueStore } from '../store/kv.js';
import type { Logger } from '../observability/logger.js';

/**
 * Liveness of instances, from two cheap signals, neither enough alone:
 *
 * - The lease key (TTL INSTANCE_LEASE_TTL_MS), renewed every heartbeat with one PEXPIRE. A
 *   missing lease is a dead instance, as ever; its remaining TTL also tells how long ago it was
 *   last renewed.
 * - The liveness channel, SSUBSCRIBEd by the instance on its subscriber connection. SPUBLISH's
 *   count there is exact for the shard (never the node-local PUBLISH count of a cluster), and a
 *   killed process's sockets close at once, so it is 0 at once.
 *
 * A killed instance stops both at once. A live one stops only one at a time: a stalled event
 * loop or a command connection reconnecting leaves its subscriber counted; a subscriber
 * reconnecting (CLIENT KILL, a network blip, its shard failing over, its slot moving) leaves
 * the lease renewed. So an instance is dead when its lease is missing, or when it missed two
 * heartbeats AND its channel reached nobody twice, CONFIRM_MS apart at least, while this
 * instance's own view of Redis is sound (not just reconnected, subscriber up, own heartbeat
 * going: a shard failing over silences both signals of the instances on it, and drops our
 * connection to it too). The verdict then revokes the lease (deleted unless renewed
 * meanwhile): every instance agrees at once, and a takeover's guard (no lease) holds. With the
 * defaults a SIGKILLed instance is found dead 2 to 2.5 s after its last heartbeat.
 *
 * An instance taken for dead that lived after all (both its connections cut for two
 * heartbeats) finds its lease missing at its next heartbeat and is told (onRevoked), so that
 * its sessions check who runs them now (SessionHost).
 *
 * Other instances' answers are cached briefly so that checking an owner costs nothing per request.
 */
/** Instances counted at most (a registry larger than this is not a deployment we serve). */
const MAX_INSTANCES = 10_000;

/** The shortest time between the two silent counts that find an instance dead. */
const CONFIRM_MS = 500;

/** Past the moment a lease turns stale, how long to wait before reading it again (timer and network slack). */
const STALE_MARGIN_MS = 50;

/** What another instance's lease says about its renewals; 'legacy': a lease without them (only its lapse counts). */
type LeaseTerms = { ttlMs: number; heartbeatMs: number } | 'legacy';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class InstanceLease {
  private beatTimer: NodeJS.Timeout | undefined;
  private beats = 0;
  /** When this instance last renewed its own lease (its command connection works). */
  private lastBeatAt = 0;
  /** Whether this instance's subscriber connection is lost right now. */
  private subscriberLost = false;
  private readonly verdicts = new Map<string, { alive: boolean; checkedAt: number }>();
  /** Checks under way, so that concurrent requests share one EXISTS per owner. */
  private readonly checking = new Map<string, Promise<boolean>>();
  /** isDead judgements under way, per instance and patience. */
  private readonly judging = new Map<string, Promise<boolean>>();
  /** The renewal terms other instances' leases state (never change for one instance id). */
  private readonly terms = new Map<string, LeaseTerms>();
  /** Instances found alive although their channel reached nobody (their subscriber reconnecting), and when. */
  private readonly silentButAlive = new Map<string, number>();
  private readonly value: string;
  /** The registry is refreshed every this many heartbeats (about a third of the TTL). */
  private readonly registryEvery: number;
  /** Until when (ms since epoch) a missing lease proves nothing (see afterReconnect). */
  private doubtUntil = 0;
  private live: { at: number; count: number } | undefined;
  /** Told when a heartbeat found this instance's lease missing outside a reconnection: taken for dead. */
  onRevoked: (() => void) | undefined;

  constructor(
    readonly instanceId: string,
    private readonly kv: KeyValueStore,
    private readonly bus: MessageBus,
    private readonly ttlMs: number,
    readonly heartbeatMs: number,
    private readonly logger: Logger,
  ) {
    this.value = JSON.stringify({ host: os.hostname(), pid: process.pid, startedAt: Date.now(), ttlMs, heartbeatMs });
    this.registryEvery = Math.max(1, Math.round(ttlMs / 3 / heartbeatMs));
  }

  /** How long a cached verdict about another instance is trusted. */
  get recheckMs(): number {
    return Math.max(250, Math.floor(this.ttlMs / 5));
  }

  async start(): Promise<void> {
    // Subscribed before the lease exists: an instance with a lease is never silent by mistake.
    await this.bus.subscribe([channels.instanceAlive(this.instanceId)], this.onPing);
    this.bus.watchSubscriber({
      lost: () => void (this.subscriberLost = true),
      restored: () => void (this.subscriberLost = false),
    });
    await this.kv.set(keys.instanceLease(this.instanceId), this.value, this.ttlMs);
    this.lastBeatAt = Date.now();
    this.refreshRegistry();
    this.beatTimer = setInterval(() => {
      this.beat().catch((error: Error) => this.logger.warn('lease renewal failed', { error: error.message }));
    }, this.heartbeatMs);
    this.beatTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.beatTimer);
    await Promise.all([
      this.kv.delIfEquals(keys.instanceLease(this.instanceId), this.value).catch(() => false),
      this.kv.removeBounded(keys.instances, this.instanceId).catch(() => undefined),
      this.bus.unsubscribe([channels.instanceAlive(this.instanceId)], this.onPing).catch(() => undefined),
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
    this.silentButAlive.clear();
    await this.beat();
  }

  /** Whether Redis came back so recently that missing keys may still be rewritten (see afterReconnect). */
  get recovering(): boolean {
    return Date.now() < this.doubtUntil;
  }

  /**
   * Whether the instance's lease exists (cached): the slow, conservative verdict, for what
   * cannot be undone on a mistake (a legacy SSE session deleted, a task marked failed). A lease
   * revoked by isDead counts as missing here too.
   */
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
   * The fast verdict, for a session's owner (a takeover, requests waiting on it): whether the
   * instance is dead by the rule above; true revokes its lease. `wait`: the caller has fresh
   * evidence (a message to the instance's session reached nobody), so a lease still fresh is
   * watched until it is renewed or stale rather than trusted; it takes up to two heartbeats.
   * Concurrent calls share one judgement per instance.
   */
  isDead(instanceId: string, options: { wait?: boolean } = {}): Promise<boolean> {
    if (instanceId === this.instanceId) return Promise.resolve(false);
    const verdict = this.verdicts.get(instanceId);
    if (verdict?.alive === false && Date.now() - verdict.checkedAt < this.recheckMs) return Promise.resolve(true);
    const silentAt = this.silentButAlive.get(instanceId);
    if (silentAt !== undefined && Date.now() - silentAt < this.heartbeatMs) return Promise.resolve(false);
    const wait = options.wait === true;
    const key = `${wait ? 'wait' : 'now'}:${instanceId}`;
    let judging = this.judging.get(key);
    if (!judging) {
      judging = this.judge(instanceId, wait).finally(() => this.judging.delete(key));
      this.judging.set(key, judging);
    }
    return judging;
  }

  private async judge(instanceId: string, wait: boolean): Promise<boolean> {
    const leaseKey = keys.instanceLease(instanceId);
    const [terms, left] = await this.readLease(instanceId);
    if (left === null) return this.dead(instanceId);
    // A lease without heartbeat terms (an older instance, which has no liveness channel) counts only by its lapse.
    if (terms === 'legacy' || !this.soundView()) return false;
    // A remaining TTL below this means two heartbeats missed.
    const staleBelow = terms.ttlMs - 2 * terms.heartbeatMs;
    if (left > staleBelow && !wait) return false;
    if ((await this.listeners(instanceId)) > 0) return false;
    // Silent once. Again after CONFIRM_MS at least, and once the lease turned stale unless renewed.
    await sleep(Math.max(CONFIRM_MS, left - staleBelow + STALE_MARGIN_MS));
    const [leftNow = null] = await this.kv.remainingTtl([leaseKey]);
    if (leftNow === null) return this.dead(instanceId);
    if (leftNow > staleBelow || (await this.listeners(instanceId)) > 0) {
      // Renewed, or heard again: alive, its subscriber (or its command connection) was reconnecting.
      this.silentButAlive.set(instanceId, Date.now());
      if (this.silentButAlive.size > 1000) this.silentButAlive.clear();
      return false;
    }
    if (!this.soundView()) return false;
    if (!(await this.kv.revokeIfStale(leaseKey, staleBelow))) return false; // renewed at the last moment
    this.logger.warn('instance taken for dead: its heartbeat stopped and its liveness channel reaches nobody; lease revoked', {
      deadInstanceId: instanceId,
      lastHeartbeatMsAgo: terms.ttlMs - leftNow,
    });
    return this.dead(instanceId);
  }

  /** The lease's terms (read once per instance) and its remaining TTL (null: missing). */
  private async readLease(instanceId: string): Promise<[LeaseTerms, number | null]> {
    const key = keys.instanceLease(instanceId);
    const known = this.terms.get(instanceId);
    if (known) return [known, (await this.kv.remainingTtl([key]))[0] ?? null];
    const [raw, [left = null]] = await Promise.all([this.kv.get(key), this.kv.remainingTtl([key])]);
    if (raw === null || left === null) return ['legacy', null];
    const terms = termsOf(raw);
    if (this.terms.size >= 1000) this.terms.clear();
    this.terms.set(instanceId, terms);
    return [terms, left];
  }

  private listeners(instanceId: string): Promise<number> {
    return this.bus.publish(channels.instanceAlive(instanceId), '');
  }

  /** No fast verdict unless this instance sees Redis whole: not just back, subscriber up, its own heartbeat going. */
  private soundView(): boolean {
    return !this.recovering && !this.subscriberLost && Date.now() - this.lastBeatAt < 3 * this.heartbeatMs;
  }

  private dead(instanceId: string): boolean {
    if (this.recovering) return false;
    this.verdicts.set(instanceId, { alive: false, checkedAt: Date.now() });
    return true;
  }

  /**
   * One PEXPIRE (allowed at maxmemory); the lease is written again only when missing: Redis
   * lost it (see afterReconnect), or another instance revoked it, taking this one for dead.
   */
  private async beat(): Promise<void> {
    if (++this.beats % this.registryEvery === 0) this.refreshRegistry();
    const key = keys.instanceLease(this.instanceId);
    if (!(await this.kv.extend(key, this.ttlMs))) {
      await this.kv.set(key, this.value, this.ttlMs);
      if (!this.recovering) {
        this.logger.warn('own lease found missing: this instance was taken for dead; its sessions check who runs them');
        this.onRevoked?.();
      }
    }
    this.lastBeatAt = Date.now();
  }

  /** The registration among all instances is best effort (Redis at maxmemory may refuse it). */
  private refreshRegistry(): void {
    void this.kv.refreshMember(keys.instances, this.instanceId, Date.now() + this.ttlMs, this.ttlMs).catch(() => undefined);
  }

  private readonly onPing = (): void => undefined;

  private pruneVerdicts(): void {
    const cutoff = Date.now() - this.recheckMs;
    for (const [id, verdict] of this.verdicts) if (verdict.checkedAt < cutoff) this.verdicts.delete(id);
  }
}

function termsOf(raw: string): LeaseTerms {
  try {
    const { ttlMs, heartbeatMs } = JSON.parse(raw) as { ttlMs?: unknown; heartbeatMs?: unknown };
    if (typeof ttlMs === 'number' && typeof heartbeatMs === 'number' && heartbeatMs > 0 && 2 * heartbeatMs < ttlMs) {
      return { ttlMs, heartbeatMs };
    }
  } catch {
    // not JSON: an unknown writer; its lapse still counts
  }
  return 'legacy';
}
