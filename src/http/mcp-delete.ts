import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import type { Runtime } from '../runtime.js';
import { serviceUnavailable } from './errors.js';
import { streamableSessionOrAnswer } from './session-lookup.js';

/**
 * DELETE /mcp: ends the session on every instance. The owner, told on the control
 * channel, stops listening to the session, answers each pending request with an
 * error and announces `terminated`, which every instance hears. The answer waits
 * for that announcement, so that no instance serves the session after the client
 * was told it is gone.
 */
export function mcpDelete(rt: Runtime): RequestHandler {
  return async (req, res) => {
    const session = await streamableSessionOrAnswer(rt, req, res);
    if (!session) return;
    const { sessionId } = session;
    try {
      await rt.gateway.terminate(sessionId, principalOf(res).userId, 'deleted by the client', { confirm: true });
    } catch (error) {
      rt.logger.warn('session termination failed', { sessionId, error: (error as Error).message });
      serviceUnavailable(res);
      return;
    }
    res.status(200).end();
  };
}
