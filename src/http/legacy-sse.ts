import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import { channels } from '../protocol/channels.js';
import { decode, envelope, ToClientEnvelopeSchema } from '../protocol/envelopes.js';
import { isRequest } from '../protocol/message-kinds.js';
import type { Runtime } from '../runtime.js';
import { acceptsStream, hasJsonBody, safeHeaders } from './checks.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { holdWhileOpen, sendJsonRpcError, sendLimitExceeded, serviceUnavailable, whenClosed } from './errors.js';
import { inputBounds, parseJsonRpcBody } from './jsonrpc-body.js';
import type { KeepAlive } from '../sessions/streams/keep-alive.js';
import { refusedForLoad } from './health.js';
import { resolveSession } from '../sessions/edge/session-resolve.js';
import { SseWriter, streamBounds } from '../sessions/streams/sse-writer.js';

/**
 * GET /sse (HTTP+SSE transport of 2024-11-05): the session lives as long as this
 * stream. It is owned by this instance; its messages still cross the bus, so
 * POST /message works on any instance. This transport has no event log to read
 * back from: a client that leaves more unread than STREAM_BUFFER_MAX_BYTES has
 * its stream cut, which ends the session.
 */
export function legacySseStream(rt: Runtime, keepAlive: KeepAlive): RequestHandler {
  return async (req, res) => {
    if (!acceptsStream(req)) {
      sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
      return;
    }
    if (refusedForLoad(rt, res)) return;
    const principal = principalOf(res);
    if (!holdWhileOpen(res, () => rt.streams.acquire(principal.userId))) return;
    let sessionId: string;
    try {
      ({ sessionId } = await rt.host.create(principal.userId, 'sse'));
    } catch (error) {
      if (error instanceof LimitExceeded) {
        sendLimitExceeded(res, error);
        return;
      }
      rt.logger.warn('session creation failed', { error: (error as Error).message });
      serviceUnavailable(res);
      return;
    }
    const channel = channels.sseToClient(sessionId);
    const writer = new SseWriter(res, streamBounds(rt));
    let unhold: (() => void) | undefined;
    let closed = false;
    const listener = (raw: string) => {
      const incoming = decode(ToClientEnvelopeSchema, raw);
      if (incoming?.type === 'message') writer.event(JSON.stringify(incoming.message));
      else if (incoming?.type === 'rejected') {
        writer.event(
          JSON.stringify({
            jsonrpc: '2.0',
            id: incoming.requestId,
            error: { code: incoming.code, message: incoming.reason, ...(incoming.data !== undefined && { data: incoming.data }) },
          }),
        );
      } else if (incoming?.type === 'terminated') close();
      if (writer.isFull && writer.isOpen) {
        rt.logger.warn('stream cut: its client does not read', { sessionId, kind: 'legacy', limit: rt.config.limits.streamBufferBytes });
        writer.cut();
      }
    };
    const close = () => {
      if (closed) return;
      closed = true;
      keepAlive.remove(writer);
      unhold?.();
      writer.end();
      void rt.backend.bus.unsubscribe([channel], listener).catch(() => undefined);
      void rt.host.terminate(sessionId, principal.userId, 'stream closed').catch(() => undefined);
    };
    // The client may have left while the session was created: then it ends at once.
    whenClosed(res, close);
    try {
      await rt.backend.bus.subscribe([channel], listener);
    } catch (error) {
      rt.logger.warn('could not open legacy stream', { sessionId, error: (error as Error).message });
      serviceUnavailable(res);
      close();
      return;
    }
    if (closed) return;
    unhold = rt.held.hold(sessionId, principal.userId);
    writer.open();
    writer.event(`/message?sessionId=${sessionId}`, { name: 'endpoint' });
    keepAlive.add(writer);
  };
}

/** POST /message?sessionId=…: a client message for a legacy session, from any instance. */
export function legacySseMessage(rt: Runtime): RequestHandler {
  return async (req, res) => {
    const sessionId = req.query.sessionId;
    if (typeof sessionId !== 'string' || sessionId === '') {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: sessionId query parameter is required');
      return;
    }
    const parsed = parseJsonRpcBody(req.body, inputBounds(rt));
    if (!parsed.ok) {
      sendJsonRpcError(res, 400, parsed.code, parsed.reason);
      return;
    }
    if (parsed.messages.some(isRequest) && refusedForLoad(rt, res)) return;
    const session = await resolveSession(rt, res, sessionId, 'sse');
    if (!session) return;
    const principal = principalOf(res);
    const request = { headers: safeHeaders(req) };
    try {
      for (const message of parsed.messages) {
        await rt.backend.bus.publish(
          channels.toServer(sessionId),
          JSON.stringify(envelope.message(message, principal, undefined, request)),
        );
      }
    } catch {
      serviceUnavailable(res);
      return;
    }
    res.status(202).end();
  };
}

export const messagePreconditions: RequestHandler = (req, res, next) => {
  if (!hasJsonBody(req)) {
    sendJsonRpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    return;
  }
  next();
};
