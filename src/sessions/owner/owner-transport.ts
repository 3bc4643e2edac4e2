import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  InitializeRequestSchema,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { LIMIT_EXCEEDED_CODE, LimitExceeded } from '../../limits/limit-exceeded.js';
import type { MessageBus } from '../../store/bus.js';
import { PositionClock, type EventLogWriter, type EventStore } from '../../store/event-store.js';
import { isInitialize, isNotification, isRequest, isResponse } from '../../protocol/message-kinds.js';
import type { InitParams } from './persisted-session.js';
import { POLL_RETRY_MS, POLLING_SINCE } from '../../protocol/event-ids.js';
import { channels, requestIdOfStreamKey, STANDALONE_STREAM, streamKeyFor } from '../../protocol/channels.js';
import { envelope, serializeReply, serializeTapMirror, type TapDirection, type ToClientEnvelope, type ToServerEnvelope } from '../../protocol/envelopes.js';
import type { TransportKind } from '../session-directory.js';

type MessageEnvelope = Extract<ToServerEnvelope, { type: 'message' }>;

/** A request being served: who waits for its replies, and the budget unit it holds. */
interface InFlight {
  id: RequestId;
  delivery: string | undefined;
  release: () => void;
}

/** How many requests a session may have in flight, and the shared budget of its user's. */
export interface InflightBudget {
  /** Requests served at once in this session (MAX_INFLIGHT_PER_SESSION); 0 = no bound. */
  perSession: number;
  /** Takes a unit of the user's budget on this instance, or throws LimitExceeded. */
  acquire(): () => void;
}

/** Refusals on their way at once in a session whose in-flight requests are not bounded. */
const MAX_REFUSALS_IN_FLIGHT = 100;

/** Request id of the silent initialize that rebuilds a session (never a client's: it is not sent to any). */
const REHYDRATE_ID = 'mcp-session-rehydrate';

/** The longest a tap is promised at once: a tapper that went away stops costing soon. */
const MAX_TAP_MS = 30_000;


/**
 * The SDK Server's transport on the owning instance. Client messages arrive from
 * the session's toserver channel; each server message is published on the stream
 * it belongs to: a response on its request's stream, a message caused by a request
 * (progress, logging, sampling, elicitation) on that request's stream, anything
 * else on the standalone stream. Legacy SSE sessions have a single stream.
 * Streamable HTTP messages are stored in the session's event log before they are
 * published, so that a broken stream can resume on any instance.
 */
export class OwnerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  /** Requests being served, by stream key, with the delivery id of the HTTP request waiting for each. */
  private readonly inflight = new Map<string, InFlight>();
  /** Who waits for the last request in flight to end (a hand-over). */
  private idleWaiters: Array<() => void> = [];
  /**
   * Requests that hold a unit of the in-flight budgets: being served, or their
   * answer still on its way to Redis. Counting the answer too is what bounds the
   * answers an instance holds when a client sends faster than Redis takes them.
   */
  private holding = 0;
  /** Refusals on their way to Redis: bounded like requests, or a flood of refused requests would pile them up. */
  private refusing = 0;
  /** Whether refusals were dropped since the last one that went out (logged once per burst). */
  private droppingRefusals = false;
  private closed = false;
  private protocolVersion: string | undefined;
  private readonly positions: PositionClock;
  /** This session's event log (Streamable HTTP only), written by its owner alone. */
  private readonly log: EventLogWriter | undefined;
  /** Stream of the client's initialize: its reply is never replayed, so it is not stored. */
  private initializeKey: string | undefined;
  /** Settles the silent initialize that rebuilds a session elsewhere (see rehydrate). */
  private rehydrated: (() => void) | undefined;
  /** Until when (epoch ms) someone taps the session ("my sessions"). */
  private tappedUntil = 0;
  /** What close() does: end the session ('terminate'), or hand it to another instance ('release'). */
  closeMode: 'terminate' | 'release' = 'terminate';
  /** Told the client's initialize parameters, so the session can be rebuilt from them. */
  onInitialize?: (params: InitParams) => void;

  constructor(
    readonly sessionId: string,
    private readonly kind: TransportKind,
    private readonly bus: MessageBus,
    /** Where messages are kept for replay; undefined for legacy SSE (no resumption there). */
    events: EventStore | undefined,
    private readonly onActivity: () => void,
    private readonly budget: InflightBudget,
    /** Where the session's event log ended, when it is rebuilt: positions keep increasing. */
    lastPosition = '0-0',
  ) {
    this.positions = new PositionClock(lastPosition);
    this.log = events?.writer(sessionId, lastPosition);
  }

  /**
   * Brings a fresh SDK Server to where the session's was: replays the client's
   * initialize into it, and swallows the reply (the client got it long ago).
   */
  rehydrate(params: InitParams): Promise<void> {
    return new Promise((resolve) => {
      this.rehydrated = resolve;
      this.onmessage?.({ jsonrpc: '2.0', id: REHYDRATE_ID, method: 'initialize', params });
    });
  }

  /** Called by the SDK Server once initialize negotiated a version. */
  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Resolves once no request is in flight (at once when none is). */
  idle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async start(): Promise<void> {}

  /** Hands one client message (already validated) to the Server. */
  receive(incoming: MessageEnvelope): void {
    if (this.closed) return;
    this.onActivity();
    const { message } = incoming;
    if (isRequest(message)) {
      const key = streamKeyFor(message.id);
      if (this.inflight.has(key)) {
        // A second request with an id still in flight would steal the first one's replies.
        void this.reject(key, message.id, incoming.delivery, `Request id ${JSON.stringify(message.id)} is already in flight in this session`);
        return;
      }
      let release: () => void;
      try {
        release = this.admit();
      } catch (error) {
        if (!(error instanceof LimitExceeded)) throw error;
        void this.reject(key, message.id, incoming.delivery, error.message, LIMIT_EXCEEDED_CODE, error.data);
        return;
      }
      this.inflight.set(key, { id: message.id, delivery: incoming.delivery, release });
      if (isInitialize(message)) {
        this.initializeKey = key;
        const parsed = InitializeRequestSchema.safeParse(message);
        if (parsed.success) this.onInitialize?.(parsed.data.params as InitParams);
      }
    }
    const extra: MessageExtraInfo = {};
    if (incoming.request) extra.requestInfo = { headers: incoming.request.headers };
    if (isRequest(message) && this.canPoll(incoming)) {
      const key = streamKeyFor(message.id);
      extra.closeSSEStream = () => void this.closeStream(key);
      extra.closeStandaloneSSEStream = () => void this.closeStream(STANDALONE_STREAM);
    }
    this.onmessage?.(message, extra);
    if (isNotification(message) && message.method === 'notifications/cancelled') {
      this.endCancelled(message.params?.requestId);
    }
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return;
    this.onActivity();
    let key = STANDALONE_STREAM;
    let delivery: string | undefined;
    if (isResponse(message)) {
      if (message.id === REHYDRATE_ID && this.rehydrated) {
        this.rehydrated();
        this.rehydrated = undefined;
        return;
      }
      if (message.id === undefined || message.id === null) return;
      key = streamKeyFor(message.id);
      const answered = this.settle(key);
      if (!answered) return; // cancelled or already answered: nobody waits for it
      delivery = answered.delivery;
      // Its budget unit comes back once the answer is out (or could not be sent).
      try {
        await this.deliver(key, message, delivery);
      } finally {
        answered.release();
      }
      return;
    } else if (options?.relatedRequestId !== undefined) {
      const related = streamKeyFor(options.relatedRequestId);
      // Once its request is answered, a related message has no stream; the standalone one carries it.
      if (this.inflight.has(related)) {
        key = related;
        delivery = this.inflight.get(related)?.delivery;
      }
    }
    await this.deliver(key, message, delivery);
  }

  /** Stores (Streamable HTTP) and publishes one server message on its stream. */
  private async deliver(key: string, message: JSONRPCMessage, delivery: string | undefined): Promise<void> {
    const json = JSON.stringify(message);
    if (!this.log || key === this.initializeKey) {
      await this.publishRaw(key, serializeReply(json, delivery));
      return;
    }
    const position = this.positions.next();
    // Both commands leave in this tick, in this order, on one connection: by the
    // time anyone receives the message, it is in the log.
    const stored = this.log.append({ position, streamKey: key, delivery: delivery ?? '', message: json });
    const published = this.publishRaw(key, serializeReply(json, delivery, position));
    const [storing] = await Promise.allSettled([stored, published]);
    if (storing.status === 'rejected') this.onerror?.(storing.reason as Error);
    await published;
  }

  /** Whether this request's client can resume a stream the server closes (SEP-1699). */
  private canPoll(incoming: MessageEnvelope): boolean {
    if (!this.log) return false;
    const { message } = incoming;
    const version =
      isInitialize(message)
        ? String((message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion ?? '')
        : (incoming.request?.headers['mcp-protocol-version'] ?? this.protocolVersion ?? '');
    return version >= POLLING_SINCE;
  }

  /**
   * A client resumes the stream of request `key` for `delivery`: unless that
   * request is being served for that delivery, nothing more will come on it, and
   * the resuming stream is told so at once (its replies, if any, were replayed
   * from the event log before it asked).
   */
  probe(key: string, delivery: string): void {
    if (this.closed || this.inflight.get(key)?.delivery === delivery) return;
    const id = requestIdOfStreamKey(key);
    if (id === undefined) return;
    const reason = 'No stream to resume: this request is not being served, and its messages are no longer in the event log';
    void this.reject(key, id, delivery, reason, -32000);
  }

  /** Ends one HTTP stream early; its request goes on and the client resumes with Last-Event-ID. */
  private async closeStream(key: string): Promise<void> {
    const delivery = key === STANDALONE_STREAM ? undefined : this.inflight.get(key)?.delivery;
    if (key !== STANDALONE_STREAM && !this.inflight.has(key)) return;
    await this.publish(key, envelope.close(POLL_RETRY_MS, delivery)).catch((error: Error) => this.onerror?.(error));
  }

  /**
   * Ends every stream still waiting on this session; the Server is being shut
   * down. A terminated session is announced to every instance; a released one
   * (handed over to another instance) is not: it lives on, and its waiting
   * requests are told to retry.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const waiting = [...this.inflight];
    for (const [key, inflight] of waiting) {
      this.settle(key);
      inflight.release();
    }
    const reason = this.closeMode === 'terminate' ? 'Session terminated' : 'The server running this session moved it; retry the request';
    await Promise.allSettled(
      waiting.map(([key, { id, delivery }]) =>
        this.publish(key, envelope.rejected(delivery ?? '', id, ErrorCode.ConnectionClosed, reason), true),
      ),
    );
    if (this.closeMode === 'terminate') {
      await this.publish(STANDALONE_STREAM, envelope.terminated('Session terminated'), true).catch(() => undefined);
    }
    this.closed = true;
    this.onclose?.();
  }

  private endCancelled(requestId: unknown): void {
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const key = streamKeyFor(requestId);
    const cancelled = this.settle(key);
    if (!cancelled) return;
    cancelled.release();
    void this.publish(key, envelope.end('Request cancelled by the client', cancelled.delivery)).catch(() => undefined);
  }

  /** Admits one more request: within the session's bound and its user's budget, or throws LimitExceeded. */
  private admit(): () => void {
    const { perSession } = this.budget;
    if (perSession > 0 && this.holding >= perSession) {
      throw new LimitExceeded('MAX_INFLIGHT_PER_SESSION', perSession, 'session', 'requests in flight in this session');
    }
    const releaseShared = this.budget.acquire();
    this.holding += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holding -= 1;
      releaseShared();
    };
  }

  /** A request is over (answered, cancelled, or the session closing): nobody waits for it any more. Its budget unit is the caller's to give back. */
  private settle(key: string): InFlight | undefined {
    const inflight = this.inflight.get(key);
    if (!inflight) return undefined;
    this.inflight.delete(key);
    if (this.inflight.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    return inflight;
  }

  /**
   * Answers a request with an error. A client sending faster than its refusals
   * reach Redis gets no answer for the excess (it is refusing its own answers):
   * at most the session's in-flight bound of refusals is on its way at once.
   */
  private async reject(
    key: string,
    id: RequestId,
    delivery: string | undefined,
    reason: string,
    code: number = ErrorCode.InvalidRequest,
    data?: Record<string, string | number>,
  ): Promise<void> {
    const bound = this.budget.perSession || MAX_REFUSALS_IN_FLIGHT;
    if (this.refusing >= bound) {
      if (!this.droppingRefusals) this.onerror?.(new Error('requests dropped unanswered: the client sends faster than it is refused'));
      this.droppingRefusals = true;
      return;
    }
    this.droppingRefusals = false;
    this.refusing += 1;
    try {
      await this.publish(key, envelope.rejected(delivery ?? '', id, code, reason, data));
    } catch (error) {
      this.onerror?.(error as Error);
    } finally {
      this.refusing -= 1;
    }
  }

  private publish(key: string, payload: ToClientEnvelope, evenIfClosed = false): Promise<void> {
    return this.publishRaw(key, JSON.stringify(payload), evenIfClosed);
  }

  private async publishRaw(key: string, payload: string, evenIfClosed = false): Promise<void> {
    if (this.closed && !evenIfClosed) return;
    const channel = this.kind === 'sse' ? channels.sseToClient(this.sessionId) : channels.toClient(this.sessionId, key);
    this.mirror('server-to-client', channel, payload);
    await this.bus.publish(channel, payload);
  }

  /** Someone taps the session until `untilMs`: copy its messages until then (taps renew it; see session-tap). */
  tap(untilMs: number): void {
    this.tappedUntil = Math.max(this.tappedUntil, Math.min(untilMs, Date.now() + MAX_TAP_MS));
  }

  /**
   * Copies one envelope, as it crossed the bus, to the session's tap channel
   * while someone taps the session. A session nobody taps pays one comparison.
   */
  mirror(direction: TapDirection, channel: string, raw: string): void {
    // No clock read for a session never tapped: this runs for every message.
    if (this.tappedUntil === 0 || this.tappedUntil < Date.now()) return;
    this.bus.publish(channels.tap(this.sessionId), serializeTapMirror(direction, channel, raw)).catch(() => undefined);
  }
}
