import type { RequestHandler } from 'express';
import { STANDALONE_STREAM } from '../protocol/channels.js';
import { parseEventId } from '../store/event-store.js';
import type { Runtime } from '../runtime.js';
import { acceptsStream } from './checks.js';
import { sendJsonRpcError } from './errors.js';
import { refusedForLoad } from './health.js';
import type { KeepAlive } from '../sessions/streams/keep-alive.js';
import { resumeRequestStream } from './mcp-resume.js';
import { resolveStreamableSession } from '../sessions/edge/session-resolve.js';
import { openStandaloneStream } from '../sessions/streams/standalone-stream.js';

/**
 * GET /mcp: the session's standalone stream (standalone-stream.ts). With a
 * Last-Event-ID, it resumes the stream that id names, a request's
 * (mcp-resume.ts) or the standalone one, from the session's event log.
 */
export function mcpGet(rt: Runtime, keepAlive: KeepAlive): RequestHandler {
  return async (req, res) => {
    if (!acceptsStream(req)) {
      sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
      return;
    }
    const session = await resolveStreamableSession(rt, req, res);
    if (!session) return;
    const lastEventId = req.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' ? parseEventId(lastEventId) : undefined;
    if (lastEventId !== undefined && !resumeFrom) {
      sendJsonRpcError(res, 400, -32000, 'Bad Request: Last-Event-ID names no stream of this server');
      return;
    }
    if (resumeFrom && resumeFrom.streamKey !== STANDALONE_STREAM) {
      await resumeRequestStream(rt, keepAlive, res, session, resumeFrom);
      return;
    }
    // A new stream is new work; resuming one finishes running work.
    if (!resumeFrom && refusedForLoad(rt, res)) return;
    await openStandaloneStream(rt, keepAlive, res, session, resumeFrom);
  };
}
