import type { Response } from 'express';
import {
  ErrorCode,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../auth/principal.js';
import { channels } from '../../protocol/channels.js';
import { formatEventId, comparePositions, type StoredEvent } from '../../store/event-store.js';
import { envelope, type ToClientEnvelope } from '../../protocol/envelopes.js';
import { isResponse } from '../../protocol/message-kinds.js';
import type { StreamSink } from './client-stream-hub.js';
import type { OwnerDependent } from '../edge/owner-watch.js';
import { POLL_RETRY_MS } from '../owner/owner-transport.js';
import type { Runtime } from '../../runtime.js';
import type { SessionMeta } from '../session-directory.js';
import { whenClosed } from '../../http/errors.js';
import type { KeepAlive } from './keep-alive.js';
import { SseWriter, streamBounds } from './sse-writer.js';
import { StreamCatchUp } from './stream-catch-up.js';

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

type Held = { key: string; message: ToClientEnvelope };

/** Where a server envelope is in the session's event log, if it is (a stream may then drop it and read it back). */
export function logPosition(message: ToClientEnvelope): string | undefined {
  return message.type === 'message' ? message.position : undefined;
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
  /** Requests not yet answered, by stream key. */
  private readonly pending: Map<string, RequestId>;
  private readonly detachers: Array<() => void> = [];
  /** Messages that arrived before the stream was opened, in order. */
  private held: Held[] | undefined = [];
  /** Backpressure and subscriber losses: what the stream missed is read from the event log. */
  private readonly catchUp: StreamCatchUp;
  /** The last stored position written (or resumed from), so that replay and live messages never repeat. */
  private lastPosition: string;
  private deadline: NodeJS.Timeout | undefined;
  /** Nothing more will be written: every request settled, the server closed it, or the client left. */
  private finished = false;
  private clientGone = false;
  /** How many requests the stream answers, and how many it did answer with their response. */
  private readonly requestCount: number;
  private answers = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly keepAlive: KeepAlive,
    private readonly res: Response,
    private readonly target: RequestStreamTarget,
    private readonly options: RequestStreamOptions,
  ) {
    this.writer = new SseWriter(res, streamBounds(rt));
    this.ownerInstanceId = target.meta.instanceId;
    this.pending = options.requests;
    this.requestCount = options.requests.size;
    this.lastPosition = options.after ?? '0-0';
    this.catchUp = new StreamCatchUp({
      lastPosition: () => this.lastPosition,
      readAfter: (position) => rt.backend.events.after(target.sessionId, position, options.delivery),
      writeStored: (event) => this.onServerMessage(event.streamKey, envelope.stored(event)),
      isOver: () => this.isOver,
      isFull: () => this.writer.isFull,
      drained: () => this.writer.drained(),
      lostForGood: () => {
        rt.logger.warn('stream ended: its client did not read in time', { sessionId: target.sessionId, kind: 'request' });
        this.failPending(-32000, DROPPED_FOR_GOOD);
      },
      warn: (message, error) => rt.logger.warn(message, { sessionId: target.sessionId, error: error.message }),
    });
    rt.requests.active += 1;
    // From arrival: routing the request (Redis commands with no timer of their own) counts too.
    this.deadline = setTimeout(this.onDeadline, rt.config.requestTimeoutMs);
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
    // restores its subscriptions), the request is turned away (503, retry) rather than routed.
    if (!this.rt.backend.isReady()) throw new Error('the connection to the store is not ready');
    for (const key of this.pending.keys()) {
      const detach = await this.rt.hub.attach(this.target.sessionId, key, this.sinkFor(key));
      if (this.clientGone) detach();
      else this.detachers.push(detach);
    }
    this.rt.hub.noteVerified(this.target.sessionId, { userId: this.target.principal.userId, meta: this.target.meta });
  }

  /** Starts the response: priming event, replayed events, then what arrived meanwhile, then live. */
  open(replay: StoredEvent[] = []): void {
    if (this.isOver) return;
    this.writer.open(this.target.headers, false, { mayAnswerWithJson: this.options.mayAnswerWithJson });
    const firstKey = this.pending.keys().next().value;
    if (this.options.prime && firstKey !== undefined) {
      this.writer.prime(formatEventId({ position: '0-0', delivery: this.options.delivery, streamKey: firstKey }), POLL_RETRY_MS);
    }
    for (const event of replay) this.onServerMessage(event.streamKey, envelope.stored(event));
    const held = this.held ?? [];
    this.held = undefined;
    for (const { key, message } of held) this.deliver(key, message);
    if (this.finished) {
      this.writer.end();
      return;
    }
    this.rt.watch.add(this);
    // A long tool call may be silent for minutes; proxies must not take it for dead.
    this.keepAlive.add(this.writer);
    this.catchUp.opened();
  }

  /** Gives up before opening (routing failed): releases everything, writes nothing. */
  abandon(): void {
    this.held = undefined;
    this.finish();
  }

  /** Another instance took the session over while routing: watch that one. */
  ownerMoved(instanceId: string): void {
    this.ownerInstanceId = instanceId;
    this.rt.hub.noteVerified(this.target.sessionId, {
      userId: this.target.principal.userId,
      meta: { ...this.target.meta, instanceId },
    });
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
      deliver: (message) => {
        if (this.held) this.held.push({ key, message });
        else this.deliver(key, message);
      },
    };
    // One gap per stream, however many keys it answers: the first key's sink hears of it.
    if (key !== this.pending.keys().next().value) return sink;
    return {
      ...sink,
      lost: () => this.catchUp.lost(),
      restored: () => this.catchUp.restored(),
    };
  }

  /** A live message: written now, or (while the stream catches up) after what the event log holds. */
  private deliver(key: string, message: ToClientEnvelope): void {
    const write = () => {
      this.onServerMessage(key, message);
      this.catchUp.wrote();
    };
    // The session ended: nothing that waits matters any more, and the stream ends now.
    if (message.type === 'terminated' || !this.catchUp.hold(write, logPosition(message))) write();
  }

  private onServerMessage(key: string, incoming: ToClientEnvelope): void {
    if (this.finished) return;
    switch (incoming.type) {
      case 'message': {
        const { message, position } = incoming;
        if (position) {
          if (comparePositions(position, this.lastPosition) <= 0) return; // already sent by the replay
          this.lastPosition = position;
        }
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
        this.writer.event(errorMessage(incoming.requestId, incoming.code, incoming.reason, incoming.data));
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
    if (this.held) {
      // Still routing: answer now; the router finds the stream over and stops.
      this.held = undefined;
      this.writer.open(this.target.headers, false);
    }
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
    if (this.answers < this.requestCount) this.options.onUnanswered?.();
    this.rt.requests.active -= 1;
    clearTimeout(this.deadline);
    this.rt.watch.remove(this);
    this.keepAlive.remove(this.writer);
    for (const detach of this.detachers) detach();
    this.res.off('close', this.onClientGone);
    // Before open(), the opener writes what was held and ends the response itself.
    if (this.held === undefined && this.writer.isOpen) this.writer.end();
  }
}

function errorMessage(id: RequestId, code: number, message: string, data?: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined && { data }) } });
}
