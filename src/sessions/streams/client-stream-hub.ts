import type { MessageBus } from '../../store/bus.js';
import { channels, STANDALONE_STREAM } from '../../protocol/channels.js';
import { decode, ToClientEnvelopeSchema, type ToClientEnvelope } from '../../protocol/envelopes.js';
import type { Logger } from '../../observability/logger.js';
import type { SessionMeta } from '../session-directory.js';

/** A session whose owner key this instance has checked, and for whom. */
export interface VerifiedSession {
  userId: string;
  meta: SessionMeta;
}

/** An HTTP response waiting for server→client messages of one stream. */
export interface StreamSink {
  /** Delivery id of the HTTP request (request streams), undefined for the standalone stream. */
  readonly delivery: string | undefined;
  deliver(message: ToClientEnvelope): void;
  /** The subscriber connection went: what is published from now on may never arrive. */
  lost?(): void;
  /** It is back: read what may have been missed from the event log. */
  restored?(): void;
}

interface SessionStreams {
  sinks: Map<string, Set<StreamSink>>;
  refs: number;
  /** The session's standalone-stream channel: where its GET stream's messages and its end arrive. */
  subscribed: Promise<void>;
  /** Each request stream's own channel, while a sink waits on it; settles once subscribed. */
  streams: Map<string, Promise<void>>;
  releaseTimer: NodeJS.Timeout | undefined;
  listener: (raw: string, channel: string) => void;
  /** Set once the owner key was checked; cleared when the session's termination arrives. */
  verified: VerifiedSession | undefined;
  live: boolean;
}

/**
 * The HTTP side of routing: which responses on this instance wait for which
 * streams. Each request stream subscribes to its own channel
 * (mcp:shttp:toclient:{id}:<streamKey>) while a response waits on it; a
 * session's standalone channel (…:__GET_stream) stays subscribed while any of
 * its streams is open here, and a short grace after the last one ends, so
 * that a client making back-to-back calls does not pay for it per call. No
 * pattern: the channels are sharded, which a pattern cannot follow.
 *
 * While it holds that subscription, the instance also remembers that it checked
 * the session's owner key: the owner announces the session's end on the
 * standalone channel ('terminated'), so the check need not be repeated for
 * every request.
 */
export class ClientStreamHub {
  private readonly sessions = new Map<string, SessionStreams>();
  /** Request streams waiting here, and when each last heard something (see silenceCheckMs). */
  private readonly heard = new Map<StreamSink, number>();
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly graceMs: number,
    private readonly logger: Logger,
    /**
     * On a Redis Cluster, a stream's channel moves with its slot (resharding): what is published
     * while the subscription follows it is lost, though it is in the event log. A request stream
     * silent this long reads the log from where it stands (0 = never: one node loses nothing
     * unless its connection does, which watchSubscriber reports). Hand-made: node-redis does not
     * tell when it moves a sharded subscription.
     */
    private readonly silenceCheckMs = 0,
  ) {
    bus.watchSubscriber({ lost: () => this.eachSink((sink) => sink.lost?.()), restored: () => this.afterResubscribe() });
  }

  /** Starts routing a stream's messages to the sink; resolves once the subscriptions are live. */
  async attach(sessionId: string, streamKey: string, sink: StreamSink): Promise<() => void> {
    const entry = this.sessions.get(sessionId) ?? this.open(sessionId);
    entry.refs += 1;
    clearTimeout(entry.releaseTimer);
    entry.releaseTimer = undefined;
    let set = entry.sinks.get(streamKey);
    if (!set) entry.sinks.set(streamKey, (set = new Set()));
    set.add(sink);
    if (this.silenceCheckMs > 0 && streamKey !== STANDALONE_STREAM) this.watchSilence(sink);
    let stream = streamKey === STANDALONE_STREAM ? undefined : entry.streams.get(streamKey);
    if (streamKey !== STANDALONE_STREAM && !stream) {
      stream = this.bus.subscribe([channels.toClient(sessionId, streamKey)], entry.listener);
      stream.catch(() => undefined);
      entry.streams.set(streamKey, stream);
    }
    let detached = false;
    const detach = () => {
      if (detached) return;
      detached = true;
      this.heard.delete(sink);
      const current = entry.sinks.get(streamKey);
      current?.delete(sink);
      if (current?.size === 0) {
        entry.sinks.delete(streamKey);
        const subscribed = entry.streams.get(streamKey);
        if (subscribed) {
          // A request's stream key is not reused: its channel goes at once, no grace.
          entry.streams.delete(streamKey);
          const channel = channels.toClient(sessionId, streamKey);
          void subscribed.then(() => this.bus.unsubscribe([channel], entry.listener)).catch(() => undefined);
        }
      }
      this.release(sessionId, entry);
    };
    try {
      await Promise.all([entry.subscribed, stream]);
    } catch (error) {
      detach();
      throw error;
    }
    return detach;
  }

  /** Streams of the session waiting here, by kind. */
  streamsOf(sessionId: string): { request: number; standalone: number } {
    let request = 0;
    let standalone = 0;
    for (const [key, sinks] of this.sessions.get(sessionId)?.sinks ?? []) {
      if (key === STANDALONE_STREAM) standalone += sinks.size;
      else request += sinks.size;
    }
    return { request, standalone };
  }

  /** The session as last verified here, while this instance still listens to it. */
  verified(sessionId: string): VerifiedSession | undefined {
    const entry = this.sessions.get(sessionId);
    return entry?.live ? entry.verified : undefined;
  }

  /** Records a successful check of the owner key (kept only while the subscription lives). */
  noteVerified(sessionId: string, verified: VerifiedSession): void {
    const entry = this.sessions.get(sessionId);
    if (entry) entry.verified = verified;
  }

  /** Forgets a session's verification (it turned out to be gone). */
  forget(sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    if (entry) entry.verified = undefined;
  }

  /**
   * Messages published while the subscriber connection was away never arrive:
   * every stream waiting here reads them from the event log, and every session is
   * checked again (its end may have been announced meanwhile).
   */
  private afterResubscribe(): void {
    for (const entry of this.sessions.values()) entry.verified = undefined;
    const streams = this.eachSink((sink) => sink.restored?.());
    this.logger.info('subscriber connection back: streams catch up from the event log', { sessions: this.sessions.size, streams });
  }

  /** Calls `each` for every sink waiting here; returns how many there were. */
  private eachSink(each: (sink: StreamSink) => void): number {
    let count = 0;
    for (const entry of this.sessions.values()) {
      for (const sinks of entry.sinks.values()) {
        for (const sink of [...sinks]) {
          count += 1;
          each(sink);
        }
      }
    }
    return count;
  }

  private watchSilence(sink: StreamSink): void {
    this.heard.set(sink, Date.now());
    if (this.silenceTimer) return;
    this.silenceTimer = setInterval(() => {
      if (this.heard.size === 0) {
        clearInterval(this.silenceTimer);
        this.silenceTimer = undefined;
        return;
      }
      const now = Date.now();
      for (const [silent, at] of this.heard) {
        if (now - at < this.silenceCheckMs) continue;
        this.heard.set(silent, now);
        silent.restored?.();
      }
    }, this.silenceCheckMs);
    this.silenceTimer.unref();
  }

  private open(sessionId: string): SessionStreams {
    const standalone = channels.toClient(sessionId, STANDALONE_STREAM);
    const prefix = channels.toClient(sessionId, '');
    const entry: SessionStreams = {
      sinks: new Map(),
      refs: 0,
      subscribed: Promise.resolve(),
      streams: new Map(),
      releaseTimer: undefined,
      listener: (raw, channel) => this.route(entry, channel.slice(prefix.length), raw),
      verified: undefined,
      live: false,
    };
    entry.subscribed = this.bus.subscribe([standalone], entry.listener);
    entry.subscribed.then(() => (entry.live = true), () => undefined);
    // A failed subscription is reported to the attach() calls awaiting it; never unhandled.
    entry.subscribed.catch(() => undefined);
    this.sessions.set(sessionId, entry);
    return entry;
  }

  private release(sessionId: string, entry: SessionStreams): void {
    entry.refs -= 1;
    if (entry.refs > 0) return;
    const unsubscribe = () => {
      if (entry.refs > 0 || this.sessions.get(sessionId) !== entry) return;
      this.sessions.delete(sessionId);
      void entry.subscribed
        .then(() => this.bus.unsubscribe([channels.toClient(sessionId, STANDALONE_STREAM)], entry.listener))
        .catch(() => undefined);
    };
    if (this.graceMs === 0) unsubscribe();
    else {
      entry.releaseTimer = setTimeout(unsubscribe, this.graceMs);
      entry.releaseTimer.unref();
    }
  }

  private route(entry: SessionStreams, streamKey: string, raw: string): void {
    const sinks = entry.sinks.get(streamKey);
    // The owner announces a session's end on the standalone stream: heard even with no sink waiting there.
    if (!sinks && streamKey !== STANDALONE_STREAM) return;
    const message = decode(ToClientEnvelopeSchema, raw);
    if (!message) {
      this.logger.warn('dropped malformed server envelope', { streamKey });
      return;
    }
    if (message.type === 'terminated') entry.verified = undefined;
    for (const sink of [...(sinks ?? [])]) {
      // Two HTTP requests may wait on one stream key (a duplicated request id);
      // the delivery id tells which of them a message is for.
      const delivery = 'delivery' in message ? message.delivery : undefined;
      if (delivery && sink.delivery && delivery !== sink.delivery) continue;
      if (this.heard.has(sink)) this.heard.set(sink, Date.now());
      sink.deliver(message);
    }
  }
}
