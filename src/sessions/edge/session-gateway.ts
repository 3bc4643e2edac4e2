import { channels, isWellFormedSessionId, keys, STANDALONE_STREAM } from '../../protocol/channels.js';
import { envelope } from '../../protocol/envelopes.js';
import type { StoredEvent } from '../../protocol/event-ids.js';
import type { Logger } from '../../observability/logger.js';
import type { BusListener, MessageBus } from '../../store/bus.js';
import type { EventStore } from '../../store/event-store.js';
import type { KeyValueStore } from '../../store/kv.js';
import { tapSession, type Tap, type TapEvent } from '../console/session-tap.js';
import type { InstanceLease } from '../instance-lease.js';
import type { SessionHost } from '../owner/session-host.js';
import type { SessionDirectory, SessionMeta, StoredSession, TransportKind } from '../session-directory.js';
import type { ClientStreamHub, StreamSink } from '../streams/client-stream-hub.js';
import type { HeldStreams } from './held-streams.js';
import type { OwnerDependent, OwnerWatch } from './owner-watch.js';

export interface ResolvedSession {
  sessionId: string;
  meta: SessionMeta;
}

/**
 * What looking a session up gives. Unknown, expired, terminated, another
 * user's, another transport's, or orphaned by a dead owner: all are `not-found`,
 * so that nobody can probe which sessions exist. `unavailable`: the store did
 * not answer, or came back so recently that the owner may not have written its
 * keys again (retry).
 */
export type Resolution = { outcome: 'found'; session: ResolvedSession } | { outcome: 'not-found' } | { outcome: 'unavailable' };

export type Delivery = { outcome: 'delivered'; instanceId: string | undefined } | { outcome: 'gone' } | { outcome: 'unavailable' };

/** How often a message is published again while another instance takes its session over. */
const RETRIES = [50, 100, 200, 400, 800];

/** How long a termination waits for the owner to confirm the session is gone. */
const CONFIRM_MS = 2000;

export interface GatewayDeps {
  bus: MessageBus;
  kv: KeyValueStore;
  events: EventStore;
  directory: SessionDirectory;
  lease: InstanceLease;
  host: SessionHost;
  hub: ClientStreamHub;
  watch: OwnerWatch;
  held: HeldStreams;
  logger: Logger;
  /** Whether the store's connections can carry commands and subscriptions now. */
  isReady(): boolean;
}

/**
 * The edge's one door to sessions: every HTTP route and stream reaches a
 * session through it, whichever instance runs that session. It looks sessions
 * up, creates and ends them, and is the only publisher of client messages to a
 * session (taking the session over when nobody runs it). It also hands out the
 * session's streams (subscriptions, the event log, the standalone stream's
 * single-holder lease) and watches owners for the requests that wait on them.
 */
export class SessionGateway {
  constructor(private readonly deps: GatewayDeps) {}

  get isReady(): boolean {
    return this.deps.isReady();
  }

  /** Looks a session up for `userId`. Streamable HTTP sessions this edge already checked and still listens to cost nothing. */
  async resolve(sessionId: string, userId: string, kind: TransportKind): Promise<Resolution> {
    const { hub, directory, lease, logger } = this.deps;
    if (kind === 'shttp') {
      // Its end would have arrived on the channels this edge holds.
      const verified = hub.verified(sessionId);
      if (verified?.userId === userId) return { outcome: 'found', session: { sessionId, meta: verified.meta } };
    }
    if (!isWellFormedSessionId(sessionId)) return { outcome: 'not-found' };
    try {
      const owner = await directory.ownerOf(sessionId);
      // Redis just came back: the session's owner may not have written its keys again yet.
      if (owner === null && lease.recovering) return { outcome: 'unavailable' };
      const meta = owner === userId ? await directory.meta(sessionId) : undefined;
      if (!meta || meta.transport !== kind) return { outcome: 'not-found' };
      // A Streamable HTTP session outlives the instance running it: whichever instance its
      // next message reaches takes it over. A legacy SSE session lives in its stream, and dies
      // with the instance holding it.
      if (kind === 'sse' && !(await lease.isAlive(meta.instanceId))) {
        logger.info('legacy session lost with its instance', { sessionId, ownerInstanceId: meta.instanceId });
        await directory.remove(sessionId, userId);
        return { outcome: 'not-found' };
      }
      if (kind === 'shttp') hub.noteVerified(sessionId, { userId, meta });
      return { outcome: 'found', session: { sessionId, meta } };
    } catch (error) {
      logger.warn('session lookup failed', { sessionId, error: (error as Error).message });
      return { outcome: 'unavailable' };
    }
  }

  /** What the store holds of a session (the "my sessions" pages), without touching it. */
  peek(sessionId: string): Promise<StoredSession | undefined> {
    return isWellFormedSessionId(sessionId) ? this.deps.directory.peek(sessionId) : Promise.resolve(undefined);
  }

  /** A new session run here. Throws LimitExceeded past a session budget. */
  create(userId: string, kind: TransportKind): Promise<ResolvedSession> {
    return this.deps.host.create(userId, kind);
  }

  /**
   * Publishes client messages to a session, in order. When one reaches nobody —
   * the instance running the session died, evicted it or shut down — the session
   * is taken over (here, or by whichever instance wins) and the message published
   * again. `instanceId` is who runs the session when that changed (or when the
   * caller's `knownOwner` was '', a session being handed over), else undefined.
   */
  async publish(sessionId: string, userId: string, payloads: string[], knownOwner?: string): Promise<Delivery> {
    const { bus, host, directory } = this.deps;
    let instanceId: string | undefined;
    for (const payload of payloads) {
      let attempt = 0;
      let justActivated = false;
      while ((await bus.publish(channels.toServer(sessionId), payload)) === 0) {
        const activation = justActivated ? { outcome: 'busy' as const } : await host.activate(sessionId, userId);
        if (activation.outcome === 'gone') return { outcome: 'gone' };
        if (activation.outcome === 'running') {
          // Taken over here: publish again at once (once; a second miss waits like the others).
          instanceId = activation.instanceId;
          justActivated = true;
          continue;
        }
        justActivated = false;
        const pause = RETRIES[attempt++];
        if (pause === undefined) return { outcome: 'unavailable' };
        await new Promise((resolve) => setTimeout(resolve, pause));
        instanceId = (await directory.instanceOf(sessionId)) ?? undefined;
      }
    }
    // Handed over as the caller looked: learn who took it, so that its death is noticed.
    if (!instanceId && knownOwner === '') instanceId = (await directory.instanceOf(sessionId)) ?? undefined;
    return { outcome: 'delivered', instanceId: instanceId || undefined };
  }

  /**
   * Publishes one message to whoever runs the session now, if anyone: no
   * takeover (a cancel past a deadline, a stream's end, a legacy session's
   * message, whose session lives only where its stream is).
   */
  async notify(sessionId: string, payload: string): Promise<void> {
    await this.deps.bus.publish(channels.toServer(sessionId), payload);
  }

  /**
   * Ends a session wherever it runs: gone from the store at once, its owner told
   * to stop. With `confirm`, waits (CONFIRM_MS at most) until the owner announced
   * the end, which every instance hears, so that no instance serves the session
   * once the caller is told it is gone.
   */
  async terminate(sessionId: string, userId: string, reason: string, options: { confirm?: boolean } = {}): Promise<void> {
    const { hub, directory, bus } = this.deps;
    let detach: (() => void) | undefined;
    let confirm: () => void = () => undefined;
    const confirmed = new Promise<void>((resolve) => (confirm = resolve));
    try {
      if (options.confirm) {
        detach = await hub.attach(sessionId, STANDALONE_STREAM, {
          delivery: undefined,
          deliver: (message) => message.type === 'terminated' && confirm(),
        });
      }
      hub.forget(sessionId);
      await directory.remove(sessionId, userId);
      const heard = (await bus.publish(channels.control(sessionId), JSON.stringify(envelope.shutdown(reason)))) > 0;
      // A session no instance runs (evicted, or its instance gone) has nobody to confirm.
      if (options.confirm && heard) {
        const timer = setTimeout(confirm, CONFIRM_MS);
        await confirmed;
        clearTimeout(timer);
      }
    } finally {
      detach?.();
    }
  }

  /** The edge stops trusting what it checked of the session (it could not be reached). */
  forget(sessionId: string): void {
    this.deps.hub.forget(sessionId);
  }

  /**
   * Listens to one stream of the session (a request's, or the standalone one)
   * until the returned function is called. Refused while the store's
   * connections are not ready: replies could not be heard.
   */
  async subscribe(sessionId: string, streamKey: string, sink: StreamSink): Promise<() => void> {
    if (!this.deps.isReady()) throw new Error('the connection to the store is not ready');
    return this.deps.hub.attach(sessionId, streamKey, sink);
  }

  /** The session's owner is `instanceId` (it moved, or was just learned): later requests skip the lookup with that in mind. */
  noteOwner(sessionId: string, userId: string, meta: SessionMeta): void {
    this.deps.hub.noteVerified(sessionId, { userId, meta });
  }

  /** What a stream of the session received after `position` (its delivery's, or '' for the standalone stream). */
  readLog(sessionId: string, position: string, delivery: string): Promise<StoredEvent[]> {
    return this.deps.events.after(sessionId, position, delivery);
  }

  lastLogPosition(sessionId: string): Promise<string> {
    return this.deps.events.lastPosition(sessionId);
  }

  /**
   * Takes the session's single standalone stream for `holder`, across all
   * instances, while the stream is kept (keep); false when another holds it.
   */
  async claimStandalone(sessionId: string, holder: string): Promise<boolean> {
    return this.deps.kv.set(keys.standaloneHolder(sessionId), holder, this.deps.held.leaseTtlMs, { onlyIfAbsent: true });
  }

  async releaseStandalone(sessionId: string, holder: string): Promise<void> {
    await this.deps.kv.delIfEquals(keys.standaloneHolder(sessionId), holder).catch(() => false);
  }

  /**
   * A long-lived stream of the session is open here: it counts as the session's
   * activity, and renews the standalone lease when it is the standalone stream.
   */
  keep(sessionId: string, userId: string, options: { standalone?: boolean } = {}): () => void {
    return this.deps.held.hold(sessionId, userId, options.standalone ? keys.standaloneHolder(sessionId) : undefined);
  }

  /** Ends `dependent` (ownerLost) if the instance it waits on dies. */
  watch(dependent: OwnerDependent): void {
    this.deps.watch.add(dependent);
  }

  unwatch(dependent: OwnerDependent): void {
    this.deps.watch.remove(dependent);
  }

  /** A legacy SSE session's messages to its client, which its stream relays. */
  async listenLegacy(sessionId: string, listener: BusListener): Promise<() => Promise<void>> {
    const channel = channels.sseToClient(sessionId);
    await this.deps.bus.subscribe([channel], listener);
    return () => this.deps.bus.unsubscribe([channel], listener).catch(() => undefined);
  }

  /** One session's messages as they cross the bus, for its user's "my sessions" page. */
  tap(sessionId: string, onEvent: (event: TapEvent) => void, onEnd: (reason: string) => void): Promise<Tap> {
    const { bus } = this.deps;
    return tapSession(bus, sessionId, onEvent, onEnd, (payload) => bus.publish(channels.control(sessionId), payload).then(() => undefined));
  }
}
