import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import { STANDALONE_STREAM } from '../protocol/channels.js';
import { parseEventId } from '../protocol/event-ids.js';
import type { Runtime } from '../runtime.js';
import { openStandaloneStream } from '../sessions/streams/standalone-stream.js';
import { acceptsStream } from './checks.js';
import { holdWhileOpen, sendJsonRpcError, serviceUnavailable, sessionNotFound } from './errors.js';
import { refusedForLoad } from './health.js';
import { resumeRequestStream } from './mcp-resume.js';
import { streamableSessionOrAnswer } from './session-lookup.js';

/**
 * GET /mcp: the session's standalone stream. With a Last-Event-ID, it resumes
 * the stream that id names, a request's (mcp-resume.ts) or the standalone one,
 * from the session's event log.
 */
export function mcpGet(rt: Runtime): RequestHandler {
  return async (req, res) => {
    if (!acceptsStream(req)) {
      sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
      return;
    }
    const session = await streamableSessionOrAnswer(rt, req, res);
    if (!session) return;
    const lastEventId = req.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' ? parseEventId(lastEventId) : undefined;
    if (lastEventId !== undefined && !resumeFrom) {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: Last-Event-ID names no stream of this server');
      return;
    }
    if (resumeFrom && resumeFrom.streamKey !== STANDALONE_STREAM) {
      await resumeRequestStream(rt, res, session, resumeFrom);
      return;
    }
    // A new stream is new work; resuming one finishes running work.
    if (!resumeFrom && refusedForLoad(rt, res)) return;
    const principal = principalOf(res);
    if (!holdWhileOpen(res, () => rt.streams.acquire(principal.userId))) return;
    const outcome = await openStandaloneStream(rt.edge, res, session, principal, resumeFrom);
    if (outcome === 'conflict') sendJsonRpcError(res, 409, -32000, 'Conflict: a standalone stream is already open for this session');
    else if (outcome === 'gone') sessionNotFound(res);
    else if (outcome === 'unavailable') serviceUnavailable(res);
  };
}
