import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import { envelope } from '../protocol/envelopes.js';
import { isRequest } from '../protocol/message-kinds.js';
import type { Runtime } from '../runtime.js';
import { acceptsStream, hasJsonBody, safeHeaders } from './checks.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { holdWhileOpen, sendJsonRpcError, sendLimitExceeded, serviceUnavailable } from './errors.js';
import { inputBounds, parseJsonRpcBody } from './jsonrpc-body.js';
import { refusedForLoad } from './health.js';
import { openLegacyStream } from '../sessions/streams/legacy-stream.js';
import { sessionOrAnswer } from './session-lookup.js';

/**
 * GET /sse (HTTP+SSE transport of 2024-11-05): a session run by this instance,
 * living as long as its stream (sessions/streams/legacy-stream.ts).
 */
export function legacySseStream(rt: Runtime): RequestHandler {
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
      ({ sessionId } = await rt.gateway.create(principal.userId, 'sse'));
    } catch (error) {
      if (error instanceof LimitExceeded) {
        sendLimitExceeded(res, error);
        return;
      }
      rt.logger.warn('session creation failed', { error: (error as Error).message });
      serviceUnavailable(res);
      return;
    }
    if (!(await openLegacyStream(rt.edge, res, sessionId, principal))) serviceUnavailable(res);
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
    const session = await sessionOrAnswer(rt, res, sessionId, 'sse');
    if (!session) return;
    const principal = principalOf(res);
    const request = { headers: safeHeaders(req) };
    try {
      for (const message of parsed.messages) {
        // A legacy session lives only where its stream is: no takeover.
        await rt.gateway.notify(sessionId, JSON.stringify(envelope.message(message, principal, undefined, request)));
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
