import type { Response } from 'express';
import { principalOf } from '../../auth/principal.js';
import { isWellFormedSessionId } from '../../protocol/channels.js';
import type { Runtime } from '../../runtime.js';
import type { SessionMeta, TransportKind } from '../session-directory.js';
import type { Request } from 'express';
import { protocolVersionProblem } from '../../http/checks.js';
import { sendJsonRpcError, serviceUnavailable, sessionNotFound } from '../../http/errors.js';

export interface ResolvedSession {
  sessionId: string;
  meta: SessionMeta;
}

/**
 * Finds the caller's session or answers for it. Unknown, expired, terminated,
 * another user's, another transport's, or orphaned by a dead owner: all get the
 * same 404, so that nobody can probe which sessions exist.
 */
export async function resolveSession(
  rt: Runtime,
  res: Response,
  sessionId: string,
  kind: TransportKind,
): Promise<ResolvedSession | undefined> {
  if (!isWellFormedSessionId(sessionId)) {
    sessionNotFound(res);
    return undefined;
  }
  try {
    const owner = await rt.directory.ownerOf(sessionId);
    if (owner === null && rt.lease.recovering) {
      // Redis just came back: the session's owner may not have written its keys again yet.
      serviceUnavailable(res);
      return undefined;
    }
    const meta = owner === principalOf(res).userId ? await rt.directory.meta(sessionId) : undefined;
    if (!meta || meta.transport !== kind) {
      sessionNotFound(res);
      return undefined;
    }
    // A Streamable HTTP session outlives the instance running it: whichever
    // instance its next message reaches takes it over. A legacy SSE session lives
    // in its stream, and dies with the instance holding it.
    if (kind === 'sse' && !(await rt.lease.isAlive(meta.instanceId))) {
      rt.logger.info('legacy session lost with its instance', { sessionId, ownerInstanceId: meta.instanceId });
      await rt.directory.remove(sessionId, principalOf(res).userId);
      sessionNotFound(res);
      return undefined;
    }
    return { sessionId, meta };
  } catch (error) {
    rt.logger.warn('session lookup failed', { sessionId, error: (error as Error).message });
    serviceUnavailable(res);
    return undefined;
  }
}

/**
 * The Streamable HTTP preamble of every request after initialize: the session
 * header must be there, the protocol version (when sent) one we speak, and the
 * session the caller's.
 */
export async function resolveStreamableSession(
  rt: Runtime,
  req: Request,
  res: Response,
): Promise<ResolvedSession | undefined> {
  const header = req.headers['mcp-session-id'];
  if (typeof header !== 'string' || header === '') {
    sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    return undefined;
  }
  const versionProblem = protocolVersionProblem(req);
  if (versionProblem) {
    sendJsonRpcError(res, 400, -32000, `Bad Request: ${versionProblem}`);
    return undefined;
  }
  const userId = principalOf(res).userId;
  // A session this instance checked and still listens to needs no second look
  // at the store: its end would have arrived on the channels we hold.
  const verified = rt.hub.verified(header);
  if (verified?.userId === userId) return { sessionId: header, meta: verified.meta };
  const session = await resolveSession(rt, res, header, 'shttp');
  if (session) rt.hub.noteVerified(header, { userId, meta: session.meta });
  return session;
}
