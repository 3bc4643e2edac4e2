import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  InitializeRequestSchema,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { MessageBus } from '../routing/bus.js';
import { PositionClock, type EventStore } from '../routing/event-store.js';
import { isInitialize, isNotification, isRequest, isResponse } from '../routing/message-kinds.js';
import type { InitParams } from './persisted-session.js';
import { channels, STANDALONE_STREAM, streamKeyFor } from '../routing/channels.js';
import { envelope, serializeReply, type ToClientEnvelope, type ToServerEnvelope } from '../routing/envelopes.js';
import type { TransportKind } from './session-directory.js';

type MessageEnvelope = Extract<ToServerEnvelope, { type: 'message' }>;

/** Request id of the silent initialize that rebuilds a session (never a client's: it is not sent to any). */
const REHYDRATE_ID = 'mcp-session-rehydrate';

/** How long a client waits before reconnecting to a stream the server closed (SSE `retry`). */
export const POLL_RETRY_MS = 1000;

/** Clients of this revision on get priming events and understand servers closing streams mid-request (SEP-1699). */
export const POLLING_SINCE = '2025-11-25';

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
  private readonly inflight = new Map<string, { id: RequestId; delivery: string | undefined }>();
  private closed = false;
  private protocolVersion: string | undefined;
  private readonly positions: PositionClock;
  /** Stream of the client's initialize: its reply is never replayed, so it is not stored. */
  private initializeKey: string | undefined;
  /** Settles the silent initialize that rebuilds a session elsewhere (see rehydrate). */
  private rehydrated: (() => void) | undefined;
  /** What close() does: end the session ('terminate'), or hand it to another instance ('release'). */
  closeMode: 'terminate' | 'release' = 'terminate';
  /** Told the client's initialize parameters, so the session can be rebuilt from them. */
  onInitialize?: (params: InitParams) => void;

  constructor(
    readonly sessionId: string,
    private readonly kind: TransportKind,
    private readonly bus: MessageBus,
    /** Where messages are kept for replay; undefined for legacy SSE (no resumption there). */
    private readonly events: EventStore | undefined,
    private readonly onActivity: () => void,
    /** Where the session's event log ended, when it is rebuilt: positions keep increasing. */
    lastPosition = '0-0',
  ) {
    this.positions = new PositionClock(lastPosition);
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
      this.inflight.set(key, { id: message.id, delivery: incoming.delivery });
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
      if (!this.inflight.has(key)) return; // cancelled or already answered: nobody waits for it
      delivery = this.inflight.get(key)?.delivery;
      this.inflight.delete(key);
    } else if (options?.relatedRequestId !== undefined) {
      const related = streamKeyFor(options.relatedRequestId);
      // Once its request is answered, a related message has no stream; the standalone one carries it.
      if (this.inflight.has(related)) {
        key = related;
        delivery = this.inflight.get(related)?.delivery;
      }
    }
    const json = JSON.stringify(message);
    if (!this.events || key === this.initializeKey) {
      await this.publishRaw(key, serializeReply(json, delivery));
      return;
    }
    const position = this.positions.next();
    // Both commands leave in this tick, in this order, on one connection: by the
    // time anyone receives the message, it is in the log.
    const stored = this.events.append(this.sessionId, { position, streamKey: key, delivery: delivery ?? '', message: json });
    const published = this.publishRaw(key, serializeReply(json, delivery, position));
    const [storing] = await Promise.allSettled([stored, published]);
    if (storing.status === 'rejected') this.onerror?.(storing.reason as Error);
    await published;
  }

  /** Whether this request's client can resume a stream the server closes (SEP-1699). */
  private canPoll(incoming: MessageEnvelope): boolean {
    if (!this.events) return false;
    const { message } = incoming;
    const version =
      isInitialize(message)
        ? String((message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion ?? '')
        : (incoming.request?.headers['mcp-protocol-version'] ?? this.protocolVersion ?? '');
    return version >= POLLING_SINCE;
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
    this.inflight.clear();
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
    if (!this.inflight.has(key)) return;
    const delivery = this.inflight.get(key)?.delivery;
    this.inflight.delete(key);
    void this.publish(key, envelope.end('Request cancelled by the client', delivery)).catch(() => undefined);
  }

  private async reject(key: string, id: RequestId, delivery: string | undefined, reason: string): Promise<void> {
    await this.publish(key, envelope.rejected(delivery ?? '', id, ErrorCode.InvalidRequest, reason)).catch((error: Error) =>
      this.onerror?.(error),
    );
  }

  private publish(key: string, payload: ToClientEnvelope, evenIfClosed = false): Promise<void> {
    return this.publishRaw(key, JSON.stringify(payload), evenIfClosed);
  }

  private async publishRaw(key: string, payload: string, evenIfClosed = false): Promise<void> {
    if (this.closed && !evenIfClosed) return;
    const channel = this.kind === 'sse' ? channels.sseToClient(this.sessionId) : channels.toClient(this.sessionId, key);
    await this.bus.publish(channel, payload);
  }
}
