import type { Request, Response } from 'express';
import { ErrorCode, McpError, type JSONRPCNotification, type JSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { principalOf } from '../auth/principal.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { dispatchModern, type ModernOutcome } from '../modern/dispatch.js';
import type { PostHeaders } from '../modern/era.js';
import { ListenStream, type ListenSink } from '../modern/listen.js';
import { errorResponse, MODERN_ERRORS, ModernRefusal, resultResponse } from '../modern/wire.js';
import type { Runtime } from '../runtime.js';
import { holdWhileOpen, sendJsonRpcError, sendLimitExceeded } from './errors.js';
import { whenClosed } from '../sessions/streams/response-closed.js';
import { refusedForLoad } from './health.js';
import { SseWriter } from '../sessions/streams/sse-writer.js';

/** The v1 SDK's McpError prefixes its message with the code; the wire shows the message alone. */
function plainMessage(error: McpError): string {
  return error.message.replace(/^MCP error -?\d+: /, '');
}

/**
 * POST /mcp of the 2026-07-28 era: served here, by this instance, with no
 * session and nothing sent through Redis. The answer is one JSON object,
 * unless the request sends notifications first (progress, logs): then the
 * response becomes an event stream, written with backpressure (the tool
 * waits while the client does not read). subscriptions/listen keeps its
 * stream open.
 */
export async function serveModernPost(
  rt: Runtime,
  req: Request,
  res: Response,
  message: JSONRPCRequest | JSONRPCNotification,
  headers: PostHeaders,
): Promise<void> {
  // Notifications of this era carry nothing the server keeps (there is no session to tell).
  if (!('id' in message)) {
    res.status(202).end();
    return;
  }
  const { userId } = principalOf(res);
  if (refusedForLoad(rt, res)) return;
  // A request being answered holds a unit of the stream budgets, as a sessionful one does.
  if (!holdWhileOpen(res, () => rt.streams.acquire(userId))) return;
  const writer = new SseWriter(res, rt.edge.bounds);
  writer.open({}, false, { mayAnswerWithJson: true });
  const lifecycle = new ModernRequest(rt);
  whenClosed(res, lifecycle.closed);
  let streamed = false;
  const notify = async (notification: object) => {
    streamed = true;
    writer.event(JSON.stringify({ jsonrpc: '2.0', ...notification }));
    // Backpressure: the call goes on once the client took what it was sent.
    if (writer.isFull) await writer.drained();
  };

  let outcome: ModernOutcome;
  try {
    outcome = await dispatchModern(
      {
        message,
        methodHeader: headers.method,
        nameHeader: headers.name,
        header: (name) => {
          const value = req.headers[name];
          return typeof value === 'string' ? value : undefined;
        },
        userId,
        get signal() {
          return lifecycle.signal();
        },
        notify,
      },
      rt.modern,
    );
  } catch (error) {
    lifecycle.answered = true;
    answerError(rt, res, writer, streamed, message.id, error);
    return;
  }
  lifecycle.answered = true;
  if (outcome.kind === 'listen') {
    lifecycle.uncount();
    openListen(rt, res, writer, userId, message.id, outcome.filter);
    return;
  }
  const json = JSON.stringify(resultResponse(message.id, outcome.result));
  if (!writer.answerWithJson(json)) {
    writer.event(json);
    writer.end();
  }
}

function answerError(rt: Runtime, res: Response, writer: SseWriter, streamed: boolean, id: RequestId, error: unknown): void {
  if (error instanceof LimitExceeded && !streamed) {
    sendLimitExceeded(res, error);
    return;
  }
  let status = 200;
  let body;
  if (error instanceof ModernRefusal) {
    status = error.httpStatus;
    body = errorResponse(id, error.code, error.message, error.data);
  } else if (error instanceof McpError) {
    // A capability the client did not declare is a refusal of the request as sent (400).
    if (error.code === MODERN_ERRORS.missingClientCapability) status = 400;
    body = errorResponse(id, error.code, plainMessage(error), error.data);
  } else if (error instanceof LimitExceeded) {
    body = errorResponse(id, error.toMcpError().code, error.message, error.data);
  } else {
    rt.logger.warn('modern request failed', { error: (error as Error).message });
    body = errorResponse(id, ErrorCode.InternalError, 'Internal error');
  }
  if (!streamed) {
    sendJsonRpcError(res, status, body.error.code, body.error.message, id, body.error.data);
    return;
  }
  writer.event(JSON.stringify(body));
  writer.end();
}

/**
 * One request's life on this instance: counted while a drain should wait for
 * it, and cancelled (its signal) if its client leaves before the answer. A
 * class, so that what a long-lived response keeps for it is this small object,
 * not the whole scope of the handler.
 */
class ModernRequest {
  answered = false;
  private counted = true;
  private closedEarly = false;
  // Made only when a call asks for it (lists, reads and listen streams never do).
  private controller: AbortController | undefined;

  constructor(private readonly rt: Runtime) {
    // A drain lets requests being answered finish (listen streams are ended by the drain itself).
    rt.requests.begin();
  }

  signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.closedEarly) this.controller.abort();
    return this.controller.signal;
  }

  uncount(): void {
    if (this.counted) this.rt.requests.end();
    this.counted = false;
  }

  readonly closed = (): void => {
    this.uncount();
    // Only a request still running is cancelled (an abort builds an exception: not for every answer).
    if (this.answered) return;
    this.closedEarly = true;
    this.controller?.abort();
  };
}

/** A listen stream's sink over its response's event-stream writer (a class: one shape for all). */
class WriterSink implements ListenSink {
  constructor(private readonly writer: SseWriter) {}

  send(message: object): void {
    this.writer.event(JSON.stringify(message));
  }

  get isFull(): boolean {
    return this.writer.isFull;
  }

  drained(): Promise<void> {
    return this.writer.drained();
  }

  end(last?: object): void {
    if (last) this.writer.event(JSON.stringify(last));
    this.writer.end();
  }
}

/** subscriptions/listen: an event stream acknowledged at once, open until the client leaves or the instance drains. */
function openListen(
  rt: Runtime,
  res: Response,
  writer: SseWriter,
  userId: string,
  id: RequestId,
  filter: ConstructorParameters<typeof ListenStream>[1],
): void {
  const stream = new ListenStream(id, filter, new WriterSink(writer));
  let close: () => void;
  try {
    close = rt.modern.listens.add(userId, stream);
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
    sendLimitExceeded(res, error);
    return;
  }
  stream.acknowledge();
  writer.compact();
  rt.edge.keepAlive.add(writer);
  whenClosed(res, () => {
    stream.abandon();
    close();
    rt.edge.keepAlive.remove(writer);
  });
}
