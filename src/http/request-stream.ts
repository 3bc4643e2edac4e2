import type { Request, Response } from 'express';
import {
  ErrorCode,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import { channels, streamKeyFor } from '../routing/channels.js';
import { envelope, type ToClientEnvelope } from '../routing/envelopes.js';
import type { StreamSink } from '../session/client-stream-hub.js';
import type { OwnerDependent } from '../session/owner-watch.js';
import type { Runtime } from '../session/runtime.js';
import { safeHeaders } from './checks.js';
import { serviceUnavailable } from './errors.js';
import type { KeepAlive } from './keep-alive.js';
import { SseWriter } from './sse-writer.js';

export interface RequestStreamTarget {
  sessionId: string;
  ownerInstanceId: string;
  principal: Principal;
  /** Extra response headers (Mcp-Session-Id on initialize). */
  headers?: Record<string, string>;
}

/**
 * One POST carrying requests, from publish to the last response. Its SSE stream
 * carries every message the owner relates to those requests (progress, logging,
 * sampling, elicitation) and ends once each request is answered — or at the
 * deadline, or when the owner dies, with a JSON-RPC error; never later. A client
 * that goes away only releases what the stream held.
 */
export class RequestStream implements OwnerDependent {
  readonly startedAt = Date.now();
  readonly ownerInstanceId: string;
  private readonly delivery: string;
  private readonly writer: SseWriter;
  /** Requests not yet answered, by stream key. */
  private readonly pending = new Map<string, RequestId>();
  private readonly detachers: Array<() => void> = [];
  private deadline: NodeJS.Timeout | undefined;
  /** Nothing more will be written: every request settled, or the client left. */
  private finished = false;
  private clientGone = false;

  constructor(
    private readonly rt: Runtime,
    private readonly keepAlive: KeepAlive,
    private readonly req: Request,
    private readonly res: Response,
    private readonly target: RequestStreamTarget,
  ) {
    this.delivery = rt.nextDeliveryId();
    this.writer = new SseWriter(res);
    this.ownerInstanceId = target.ownerInstanceId;
  }

  async run(messages: JSONRPCMessage[]): Promise<void> {
    const { hub, backend } = this.rt;
    const { sessionId } = this.target;
    this.res.on('close', this.onClientGone);
    try {
      for (const message of messages) {
        if (!isJSONRPCRequest(message)) continue;
        const key = streamKeyFor(message.id);
        this.pending.set(key, message.id);
        const detach = await hub.attach(sessionId, key, this.sinkFor(key));
        if (this.clientGone) detach();
        else this.detachers.push(detach);
      }
      if (this.clientGone) return;
      const meta = { headers: safeHeaders(this.req) };
      for (const message of messages) {
        const payload = envelope.message(message, this.target.principal, this.delivery, meta);
        await backend.bus.publish(channels.toServer(sessionId), JSON.stringify(payload));
      }
    } catch (error) {
      this.rt.logger.warn('could not route request', { sessionId, error: (error as Error).message });
      this.finish();
      serviceUnavailable(this.res);
      return;
    }
    if (this.clientGone) return;
    // Replies that arrived while later messages of a batch were being published
    // were kept by the writer; opening sends them.
    this.writer.open(this.target.headers);
    if (this.finished) {
      this.writer.end();
      return;
    }
    this.deadline = setTimeout(this.onDeadline, this.rt.config.requestTimeoutMs);
    this.rt.watch.add(this);
    // A long tool call may be silent for minutes; proxies must not take it for dead.
    this.keepAlive.add(this.writer);
  }

  ownerLost(): void {
    this.failPending(ErrorCode.InternalError, 'The server holding this session became unavailable; the session is lost');
  }

  private sinkFor(key: string): StreamSink {
    return { delivery: this.delivery, deliver: (message) => this.onServerMessage(key, message) };
  }

  private onServerMessage(key: string, incoming: ToClientEnvelope): void {
    if (this.finished) return;
    switch (incoming.type) {
      case 'message': {
        const { message } = incoming;
        this.writer.event(JSON.stringify(message));
        if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && this.pending.has(key)) {
          this.settle(key);
        }
        break;
      }
      case 'rejected':
        this.writer.event(errorMessage(incoming.requestId, incoming.code, incoming.reason));
        this.settle(key);
        break;
      case 'end':
        this.settle(key);
        break;
    }
  }

  private settle(key: string): void {
    this.pending.delete(key);
    if (this.pending.size === 0) this.finish();
  }

  private readonly onDeadline = (): void => {
    const seconds = Math.round(this.rt.config.requestTimeoutMs / 1000);
    // Tell the owner to stop working on what nobody waits for any more.
    for (const id of this.pending.values()) {
      const cancel: JSONRPCMessage = {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'Request deadline exceeded' },
      };
      void this.rt.backend.bus
        .publish(channels.toServer(this.target.sessionId), JSON.stringify(envelope.message(cancel, this.target.principal)))
        .catch(() => undefined);
    }
    this.failPending(ErrorCode.RequestTimeout, `Request timed out after ${seconds} s`);
  };

  private failPending(code: number, reason: string): void {
    if (this.finished) return;
    for (const id of this.pending.values()) this.writer.event(errorMessage(id, code, reason));
    this.pending.clear();
    this.finish();
  }

  private readonly onClientGone = (): void => {
    this.clientGone = true;
    this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.deadline);
    this.rt.watch.remove(this);
    this.keepAlive.remove(this.writer);
    for (const detach of this.detachers) detach();
    this.res.off('close', this.onClientGone);
    if (this.writer.headersSent) this.writer.end();
  }
}

function errorMessage(id: RequestId, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}
