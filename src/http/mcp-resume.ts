import type { Response } from 'express';
import { principalOf } from '../auth/principal.js';
import { requestIdOfStreamKey } from '../protocol/channels.js';
import type { EventId } from '../protocol/event-ids.js';
import { envelope } from '../protocol/envelopes.js';
import type { Runtime } from '../runtime.js';
import { holdWhileOpen, sendJsonRpcError, serviceUnavailable } from './errors.js';
import { RequestStream } from '../sessions/streams/request-stream.js';
import type { ResolvedSession } from '../sessions/edge/session-gateway.js';

/**
 * GET /mcp with the Last-Event-ID of a request's stream: replays what that stream
 * received after the event, from the session's event log, then goes on live until
 * the request is answered. Works on any instance, whichever served the stream.
 */
export async function resumeRequestStream(
  rt: Runtime,
  res: Response,
  session: ResolvedSession,
  from: EventId,
): Promise<void> {
  const requestId = requestIdOfStreamKey(from.streamKey);
  if (requestId === undefined || from.delivery === '') {
    sendJsonRpcError(res, 400, -32000, 'Bad Request: Last-Event-ID names no stream of this server');
    return;
  }
  if (!holdWhileOpen(res, () => rt.streams.acquire(principalOf(res).userId))) return;
  const stream = new RequestStream(
    rt.edge,
    res,
    { sessionId: session.sessionId, meta: session.meta, principal: principalOf(res) },
    { delivery: from.delivery, requests: new Map([[from.streamKey, requestId]]), prime: false, after: from.position },
  );
  let replay;
  try {
    // Subscribe first, then read the log: nothing published in between is missed,
    // and the stream drops what it would otherwise send twice.
    await stream.attach();
    if (stream.isOver) return;
    replay = await rt.gateway.readLog(session.sessionId, from.position, from.delivery);
  } catch (error) {
    rt.logger.warn('could not resume stream', { sessionId: session.sessionId, error: (error as Error).message });
    if (stream.isOver) return;
    stream.abandon();
    serviceUnavailable(res);
    return;
  }
  stream.open(replay);
  if (stream.isOver) return;
  // Is that request still being served? A stream nobody will write to is answered at once,
  // not at the deadline (the owner replies on the stream itself).
  const probe = JSON.stringify(envelope.probe(from.streamKey, from.delivery, principalOf(res)));
  const delivered = await rt.gateway.publish(session.sessionId, principalOf(res).userId, [probe]).catch(() => undefined);
  if (delivered?.outcome === 'gone') stream.fail(-32001, 'Session not found: initialize a new session');
}
