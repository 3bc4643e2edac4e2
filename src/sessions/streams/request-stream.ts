import type { Response } from 'express';
import {
  ErrorCode,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { formatEventId, type StoredEvent, POLL_RETRY_MS } from '../../protocol/event-ids.js';
import { envelope, type Principal, type ToClientEnvelope } from '../../protocol/envelopes.js';
import { isResponse } from '../../protocol/message-kinds.js';
import type { StreamSink } from './client-stream-hub.js';
import type { OwnerDependent } from '../edge/owner-watch.js';
import type { SessionMeta } from '../session-directory.js';
import { errorEvent } from './error-event.js';
import { LoggedStream } from './logged-stream.js';
import { whenClosed } from './response-closed.js';
import { SseWriter } from './sse-writer.js';
import type { StreamContext } from './stream-context.js';

export interface RequestStreamTarget {
  sessionId: string;
  meta: SessionMeta;
  principal: Principal;
  /** Extra response headers (Mcp-Session-Id on initialize). */
  headers?: Record<string, string>;
}

export interface RequestStreamOptions {
  /** Delivery id naming this stream (a fresh one for a POST; the original one for a resume). */
  delivery: string;
  /** The requests this stream answers, by stream key (the stream's own: it deletes each one answered). */
  requests: Map<string, RequestId>;
  /** Send a priming event first (clients of 2025-11-25 on, one request per stream). */
  prime: boolean;
  /** The log position a resumed stream starts after (its client has everything up to it). */
  after?: string;
  /**
   * The response may be one JSON object, if the request's answer is the first thing the owner
   * sends (one request, no priming event, nothing to replay: the caller decides).
   */
  mayAnswerWithJson?: boolean;
  /** Called when the stream ends with requests unanswered (client gone, deadline, owner lost, routing failed). */
  onUnanswered?: () => void;
}

/** What a stream that could not be kept complete tells its client. */
export const DROPPED_FOR_GOOD =
  'Messages of this stream were dropped: its client did not read them in time (STREAM_BUFFER_MAX_BYTES), and the event log no longer holds them (EVENT_LOG_MAX_EVENTS, EVENT_LOG_MAX_BYTES)';

/**
 * The SSE stream of one or more requests, from the moment they are routed to
 * their last response. It carries every message the owner relates to those
 * requests (progress, logging, sampling, elicitation) and ends once each request
 * is answered — or at the deadline, or when the owner dies, with a JSON-RPC error;
 * never later. The server may close it early (the client then resumes it with
 * Last-Event-ID, here or on another instance). A client that goes away only
 * releases what the stream held; one that stops reading gets the rest from the
 * event log once it reads again (StreamCatchUp). The caller holds the stream's
 * unit of the stream budgets for the response's life (holdWhileOpen).
 */
export class RequestStream implements OwnerDependent {
  readonly startedAt = Date.now();
  ownerInstanceId: string;
  private readonly writer: SseWriter;
  /** Order, de-duplication and gap crossing, shared with the standalone stream. */
  private readonly core: LoggedStream;
  /** Requests not yet answered, by stream key. */
  private readonly pending: Map<string, RequestId>;
  private readonly detachers: Array<() => void> = [];
  private deadline: NodeJS.Timeout | undefined;
  /** Nothing more will be written: every request settled, the server closed it, or the client left. */
  private finished = false;
  private clientGone = false;
  /** How many requests the stream answers, and how many it did answer with their response. */
  private readonly requestCount: number;
  private answers = 0;

  constructor(
    private readonly ctx: StreamContext,
    private readonly res: Response,
    private readonly target: RequestStreamTarget,
    private readonly options: RequestStreamOptions,
  ) {
    this.core = new LoggedStream(ctx, res, {
      sessionId: target.sessionId,
      kind: 'request',
      after: options.after,
      readAfter: (position) => ctx.gateway.readLog(target.sessionId, position, options.delivery),
      write: (key, message) => this.onServerMessage(key, message),
      isOver: () => this.isOver,
      lostForGood: () => this.failPending(-32000, DROPPED_FOR_GOOD),
    });
    this.writer = this.core.writer;
    this.ownerInstanceId = target.meta.instanceId;
    this.pending = options.requests;
    this.requestCount = options.requests.size;
    ctx.requests.begin();
    // From arrival: routing the request (Redis commands with no timer of their own) counts too.
    this.deadline = setTimeout(this.onDeadline, ctx.requestTimeoutMs);
    // The client may have left while the request was looked up: then this stream is over at once.
    whenClosed(res, this.onClientGone);
  }

  get delivery(): string {
    return this.options.delivery;
  }

  /** The client left, or the deadline answered before the stream was opened: nothing more to do. */
  get isOver(): boolean {
    return this.clientGone || this.finished;
  }

  /** Subscribes to every stream key; messages arriving from now on are kept until open(). */
  async attach(): Promise<void> {
    // Replies can only be heard over a live subscriber connection: while it reconnects (and
    // restores its subscriptions), subscribing throws and the request is turned away (503, retry).
    for (const key of this.pending.keys()) {
      const detach = await this.ctx.gateway.subscribe(this.target.sessionId, key, this.sinkFor(key));
      if (this.clientGone) detach();
      else this.detachers.push(detach);
    }
    this.ctx.gateway.noteOwner(this.target.sessionId, this.target.principal.userId, this.target.meta);
  }

  /** Starts the response: priming event, replayed events, then what arrived meanwhile, then live. */
  open(replay: StoredEvent[] = []): void {
    if (this.isOver) return;
    this.writer.open(this.target.headers, false, { mayAnswerWithJson: this.options.mayAnswerWithJson });
    const firstKey = this.pending.keys().next().value;
    if (this.options.prime && firstKey !== undefined) {
      this.writer.prime(formatEventId({ position: '0-0', delivery: this.options.delivery, streamKey: firstKey }), POLL_RETRY_MS);
    }
    this.core.flush(replay);
    if (this.finished) {
      this.writer.end();
      return;
    }
    this.ctx.gateway.watch(this);
    // A long tool call may be silent for minutes; proxies must not take it for dead.
    this.ctx.keepAlive.add(this.writer);
    this.core.started();
  }

  /** Gives up before opening (routing failed): releases everything, writes nothing. */
  abandon(): void {
    this.core.discard();
    this.finish();
  }

  /** Another instance took the session over while routing: watch that one. */
  ownerMoved(instanceId: string): void {
    this.ownerInstanceId = instanceId;
    this.ctx.gateway.noteOwner(this.target.sessionId, this.target.principal.userId, { ...this.target.meta, instanceId });
  }

  /** Ends every request still waiting with this JSON-RPC error. */
  fail(code: number, reason: string): void {
    this.failPending(code, reason);
  }

  ownerLost(): void {
    this.failPending(ErrorCode.InternalError, 'The server holding this session became unavailable; the session is lost');
  }

  private sinkFor(key: string): StreamSink {
    const sink: StreamSink = {
      delivery: this.options.delivery,
      deliver: (message) => this.core.live(key, message),
    };
    // One gap per stream, however many keys it answers: the first key's sink hears of it.
    if (key !== this.pending.keys().next().value) return sink;
    return {
      ...sink,
      lost: () => this.core.lost(),
      restored: () => this.core.restored(),
    };
  }

  private onServerMessage(key: string, incoming: ToClientEnvelope): void {
    if (this.finished) return;
    switch (incoming.type) {
      case 'message': {
        const { message, position } = incoming;
        if (!this.core.fresh(position)) return; // already sent by the replay
        const data = JSON.stringify(message);
        const answers = isResponse(message) && this.pending.has(key);
        // The answer, before anything else: the whole response is that one JSON object.
        if (!(answers && this.writer.answerWithJson(data))) {
          const id = position ? formatEventId({ position, delivery: this.options.delivery, streamKey: key }) : undefined;
          this.writer.event(data, { id });
        }
        if (answers) {
          this.answers += 1;
          this.settle(key);
        }
        break;
      }
      case 'rejected':
        this.writer.event(errorEvent(incoming.requestId, incoming.code, incoming.reason, incoming.data));
        this.settle(key);
        break;
      case 'end':
      case 'terminated':
        this.settle(key);
        break;
      case 'close':
        // The request goes on; its client comes back with Last-Event-ID.
        this.writer.endWithRetry(incoming.retryMs);
        this.finish();
        break;
    }
  }

  private settle(key: string): void {
    this.pending.delete(key);
    if (this.pending.size === 0) this.finish();
  }

  private readonly onDeadline = (): void => {
    const seconds = Math.round(this.ctx.requestTimeoutMs / 1000);
    // Tell the owner to stop working on what nobody waits for any more.
    for (const id of this.pending.values()) {
      const cancel: JSONRPCMessage = {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'Request deadline exceeded' },
      };
      void this.ctx.gateway.notify(this.target.sessionId, JSON.stringify(envelope.message(cancel, this.target.principal))).catch(() => undefined);
    }
    this.failPending(ErrorCode.RequestTimeout, `Request timed out after ${seconds} s`);
  };

  private failPending(code: number, reason: string): void {
    if (this.finished) return;
    if (this.core.isWaiting) {
      // Still routing: answer now; the router finds the stream over and stops.
      this.core.discard();
      this.writer.open(this.target.headers, false);
    }
    for (const id of this.pending.values()) this.writer.event(errorEvent(id, code, reason));
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
    if (this.answers < this.requestCount) this.options.onUnanswered?.();
    this.ctx.requests.end();
    clearTimeout(this.deadline);
    this.ctx.gateway.unwatch(this);
    this.ctx.keepAlive.remove(this.writer);
    for (const detach of this.detachers) detach();
    this.res.off('close', this.onClientGone);
    // Before open(), the opener writes what was held and ends the response itself.
    if (!this.core.isWaiting && this.writer.isOpen) this.writer.end();
  }
}
