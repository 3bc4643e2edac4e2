import type { Response } from 'express';
import { principalOf } from '../auth/principal.js';
import { isWellFormedSessionId } from '../routing/channels.js';
import type { Runtime } from '../session/runtime.js';
import type { SessionMeta, TransportKind } from '../session/session-directory.js';
import { serviceUnavailable, sessionNotFound } from './errors.js';

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
