import type { RequestHandler } from 'express';
import type { Request, Response } from 'express';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  ErrorCode,
  InitializeRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { principalOf } from '../auth/principal.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import { streamKeyFor } from '../protocol/channels.js';
import { isInitialize, isRequest } from '../protocol/message-kinds.js';
import { envelope } from '../protocol/envelopes.js';
import { POLLING_SINCE } from '../protocol/event-ids.js';
import type { Runtime } from '../runtime.js';
import type { Delivery, ResolvedSession } from '../sessions/edge/session-gateway.js';
import { acceptsJsonAndStream, hasJsonBody, safeHeaders } from './checks.js';
import { holdWhileOpen, sendJsonRpcError, sendLimitExceeded, serviceUnavailable, sessionNotFound } from './errors.js';
import { refusedForLoad } from './health.js';
import { inputBounds, outOfBounds, parseJsonRpcBody } from './jsonrpc-body.js';
import { RequestStream } from '../sessions/streams/request-stream.js';
import { eraOf, type PostHeaders } from '../modern/era.js';
import { serveModernPost } from './modern-post.js';
import { markEra } from '../observability/http-metrics.js';
import { streamableSessionOrAnswer } from './session-lookup.js';

/** Checks that need no body: run before the body is read at all. */
export const postPreconditions: RequestHandler = (req, res, next) => {
  if (!acceptsJsonAndStream(req)) {
    sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include application/json and text/event-stream');
    return;
  }
  if (!hasJsonBody(req)) {
    sendJsonRpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    return;
  }
  next();
};

/** POST /mcp: initialize creates a session here; anything else is routed to the session's owner. */
export function mcpPost(rt: Runtime): RequestHandler {
  return async (req, res) => {
    const mcpHeaders = postHeaders(req);
    const era = eraOf(mcpHeaders, req.body);
    markEra(res, era.kind === 'session' ? 'session' : 'modern');
    if (era.kind === 'modern') {
      const problem = outOfBounds(era.message, inputBounds(rt));
      if (problem && !problem.ok) {
        sendJsonRpcError(res, 400, problem.code, problem.reason, null);
        return;
      }
      await serveModernPost(rt, req, res, era.message, mcpHeaders);
      return;
    }
    if (era.kind === 'refused') {
      sendJsonRpcError(res, era.httpStatus, era.code, era.message, era.id, era.data);
      return;
    }
    const parsed = parseJsonRpcBody(req.body, inputBounds(rt));
    if (!parsed.ok) {
      sendJsonRpcError(res, 400, parsed.code, parsed.reason);
      return;
    }
    const { messages } = parsed;
    const principal = principalOf(res);
    const requests = messages.filter(isRequest);
    // Under memory pressure, only what finishes running work (notifications, answers) gets in.
    if (requests.length > 0 && refusedForLoad(rt, res)) return;
    const streams = new Map(requests.map((r) => [streamKeyFor(r.id), r.id]));
    if (streams.size !== requests.length) {
      sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: duplicate request ids in one batch');
      return;
    }
    // Requests get a stream: its unit of the stream budgets is taken first (before a session is
    // made for an initialize), and held until the response is over.
    if (requests.length > 0 && !holdWhileOpen(res, () => rt.streams.acquire(principal.userId))) return;

    let session: ResolvedSession | undefined;
    let headers: Record<string, string> | undefined;
    if (messages.some(isInitialize)) {
      if (messages.length > 1) {
        sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone');
        return;
      }
      // No session is created for an initialize the server could not answer.
      if (!InitializeRequestSchema.safeParse(messages[0]).success) {
        sendJsonRpcError(res, 400, ErrorCode.InvalidParams, 'Invalid params: initialize needs protocolVersion, capabilities and clientInfo');
        return;
      }
      try {
        session = await rt.gateway.create(principal.userId, 'shttp');
      } catch (error) {
        if (error instanceof LimitExceeded) {
          sendLimitExceeded(res, error);
          return;
        }
        rt.logger.warn('session creation failed', { error: (error as Error).message });
        serviceUnavailable(res);
        return;
      }
      headers = { 'Mcp-Session-Id': session.sessionId };
    } else {
      session = await streamableSessionOrAnswer(rt, req, res);
      if (!session) return;
    }
    const { sessionId, meta } = session;

    const requestInfo = { headers: safeHeaders(req) };
    const payloads = (delivery: string | undefined) =>
      messages.map((message) => JSON.stringify(envelope.message(message, principal, delivery, requestInfo)));
    if (requests.length === 0) {
      // Notifications and responses need no stream: publish and acknowledge.
      let delivered: Delivery;
      try {
        delivered = await rt.gateway.publish(sessionId, principal.userId, payloads(undefined));
      } catch {
        serviceUnavailable(res);
        return;
      }
      if (delivered.outcome === 'delivered') res.status(202).end();
      else answerUndelivered(rt, res, sessionId, delivered);
      return;
    }

    // One request: a stream with a priming event for clients that can resume it (2025-11-25 on);
    // for older ones, one JSON object when the answer is all there is to send (not for a batch,
    // whose answer would have to be an array).
    const resumable = clientVersion(req, messages) >= POLLING_SINCE;
    const stream = new RequestStream(rt.edge, res, { sessionId, meta, principal, headers }, {
      delivery: rt.edge.nextDeliveryId(),
      requests: streams,
      prime: requests.length === 1 && resumable,
      mayAnswerWithJson: messages.length === 1 && !Array.isArray(req.body) && !resumable,
      // A session whose initialize was never answered is one its client cannot know of: it goes.
      onUnanswered: headers
        ? () => void rt.gateway.terminate(sessionId, principal.userId, 'initialize not answered').catch(() => undefined)
        : undefined,
    });
    try {
      await stream.attach();
      if (stream.isOver) return;
      const delivered = await rt.gateway.publish(sessionId, principal.userId, payloads(stream.delivery), meta.instanceId);
      if (stream.isOver) return;
      if (delivered.outcome !== 'delivered') {
        stream.abandon();
        answerUndelivered(rt, res, sessionId, delivered);
        return;
      }
      if (delivered.instanceId) stream.ownerMoved(delivered.instanceId);
    } catch (error) {
      rt.logger.warn('could not route request', { sessionId, error: (error as Error).message });
      if (stream.isOver) return;
      stream.abandon();
      serviceUnavailable(res);
      return;
    }
    stream.open();
  };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function postHeaders(req: Request): PostHeaders {
  return {
    sessionId: header(req, 'mcp-session-id'),
    protocolVersion: header(req, 'mcp-protocol-version'),
    method: header(req, 'mcp-method'),
    name: header(req, 'mcp-name'),
  };
}

/** The protocol version the client speaks: from initialize itself, else its header. */
function clientVersion(req: Request, messages: JSONRPCMessage[]): string {
  for (const message of messages) if (isInitialize(message)) return String(message.params.protocolVersion);
  const header = req.headers['mcp-protocol-version'];
  return typeof header === 'string' ? header : DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
}

/** A session that could not be reached: gone for good (404), or being taken over (503, retry). */
function answerUndelivered(rt: Runtime, res: Response, sessionId: string, delivered: Exclude<Delivery, { outcome: 'delivered' }>) {
  rt.gateway.forget(sessionId);
  if (delivered.outcome === 'gone') sessionNotFound(res);
  else serviceUnavailable(res);
}
