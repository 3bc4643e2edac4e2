import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { MessageBus } from '../routing/bus.js';
import { channels, STANDALONE_STREAM, streamKeyFor } from '../routing/channels.js';
import { envelope, type ToClientEnvelope, type ToServerEnvelope } from '../routing/envelopes.js';
import type { TransportKind } from './session-directory.js';

type MessageEnvelope = Extract<ToServerEnvelope, { type: 'message' }>;

/**
 * The SDK Server's transport on the owning instance. Client messages arrive from
 * the session's toserver channel; each server message is published on the stream
 * it belongs to: a response on its request's stream, a message caused by a request
 * (progress, logging, sampling, elicitation) on that request's stream, anything
 * else on the standalone stream. Legacy SSE sessions have a single stream.
 */
export class OwnerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  /** Requests being served, by stream key, with the delivery id of the HTTP request waiting for each. */
  private readonly inflight = new Map<string, { id: RequestId; delivery: string | undefined }>();
  private closed = false;

  constructor(
    readonly sessionId: string,
    private readonly kind: TransportKind,
    private readonly bus: MessageBus,
    private readonly onActivity: () => void,
  ) {}

  get inflightCount(): number {
    return this.inflight.size;
  }

  async start(): Promise<void> {}

  /** Hands one client message (already validated) to the Server. */
  receive(incoming: MessageEnvelope): void {
    if (this.closed) return;
    this.onActivity();
    const { message } = incoming;
    if (isJSONRPCRequest(message)) {
      const key = streamKeyFor(message.id);
      if (this.inflight.has(key)) {
        // A second request with an id still in flight would steal the first one's replies.
        void this.reject(key, message.id, incoming.delivery, `Request id ${JSON.stringify(message.id)} is already in flight in this session`);
        return;
      }
      this.inflight.set(key, { id: message.id, delivery: incoming.delivery });
    }
    const extra: MessageExtraInfo | undefined = incoming.request
      ? { requestInfo: { headers: incoming.request.headers } }
      : undefined;
    this.onmessage?.(message, extra);
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      this.endCancelled(message.params?.requestId);
    }
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return;
    this.onActivity();
    let key = STANDALONE_STREAM;
    let delivery: string | undefined;
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
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
    await this.publish(key, envelope.reply(message, delivery));
  }

  /** Ends every stream still waiting on this session; the Server is being shut down. */
  async close(): Promise<void> {
    if (this.closed) return;
    const waiting = [...this.inflight];
    this.inflight.clear();
    await Promise.allSettled(
      waiting.map(([key, { id, delivery }]) =>
        this.publish(key, envelope.rejected(delivery ?? '', id, ErrorCode.ConnectionClosed, 'Session terminated'), true),
      ),
    );
    await this.publish(STANDALONE_STREAM, envelope.end('Session terminated'), true).catch(() => undefined);
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

  private async publish(key: string, payload: ToClientEnvelope, evenIfClosed = false): Promise<void> {
    if (this.closed && !evenIfClosed) return;
    const channel = this.kind === 'sse' ? channels.sseToClient(this.sessionId) : channels.toClient(this.sessionId, key);
    await this.bus.publish(channel, JSON.stringify(payload));
  }
}
