import type { RequestHandler } from 'express';
import type { Runtime } from '../session/runtime.js';
import { serviceUnavailable } from './errors.js';
import { resolveStreamableSession } from './session-guard.js';

/**
 * DELETE /mcp: ends the session on every instance. The owner, told on the control
 * channel, answers each pending request with an error and ends the standalone stream.
 */
export function mcpDelete(rt: Runtime): RequestHandler {
  return async (req, res) => {
    const session = await resolveStreamableSession(rt, req, res);
    if (!session) return;
    try {
      await rt.host.terminate(session.sessionId, 'deleted by the client');
    } catch (error) {
      rt.logger.warn('session termination failed', { sessionId: session.sessionId, error: (error as Error).message });
      serviceUnavailable(res);
      return;
    }
    res.status(200).end();
  };
}
