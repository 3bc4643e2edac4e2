import type { Response } from 'express';
import { principalOf } from '../auth/principal.js';
import { isWellFormedSessionId } from '../routing/channels.js';
import type { Runtime } from '../session/runtime.js';
import type { SessionMeta, TransportKind } from '../session/session-directory.js';
import type { Request } from 'express';
import { protocolVersionProblem } from './checks.js';
import { sendJsonRpcError, serviceUnavailable, sessionNotFound } from './errors.js';

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
    const meta = owner === principalOf(res).userId ? await rt.directory.meta(sessionId) : undefined;
    if (!meta || meta.transport !== kind) {
      sessionNotFound(res);
      return undefined;
    }
    if (!(await rt.lease.isAlive(meta.instanceId))) {
      rt.logger.info('session orphaned by a dead owner', { sessionId, ownerInstanceId: meta.instanceId });
      await rt.directory.remove(sessionId);
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
  if (verified?.userId === userId && (await rt.lease.isAlive(verified.meta.instanceId).catch(() => false))) {
    return { sessionId: header, meta: verified.meta };
  }
  const session = await resolveSession(rt, res, header, 'shttp');
  if (session) rt.hub.noteVerified(header, { userId, meta: session.meta });
  return session;
}

/**
 * A message published to a session nobody listens to: the session ended after we
 * checked it (404), or its owner is briefly unreachable, e.g. resubscribing after
 * a Redis reconnect (503, retry).
 */
export async function answerUnheardSession(rt: Runtime, res: Response, sessionId: string): Promise<void> {
  rt.hub.forget(sessionId);
  try {
    const owner = await rt.directory.ownerOf(sessionId);
    if (owner === null) {
      sessionNotFound(res);
      return;
    }
  } catch {
    // fall through: unknown, so retry later
  }
  serviceUnavailable(res);
}
