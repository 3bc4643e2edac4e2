import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import { STANDALONE_STREAM } from '../protocol/channels.js';
import type { Runtime } from '../runtime.js';
import { serviceUnavailable } from './errors.js';
import { resolveStreamableSession } from '../sessions/edge/session-resolve.js';

/** How long DELETE waits for the owner to confirm the session is gone. */
const CONFIRM_MS = 2000;

/**
 * DELETE /mcp: ends the session on every instance. The owner, told on the control
 * channel, stops listening to the session, answers each pending request with an
 * error and announces `terminated`, which every instance hears. The answer waits
 * for that announcement, so that no instance serves the session after the client
 * was told it is gone.
 */
export function mcpDelete(rt: Runtime): RequestHandler {
  return async (req, res) => {
    const session = await resolveStreamableSession(rt, req, res);
    if (!session) return;
    const { sessionId } = session;
    let confirm: () => void = () => undefined;
    const confirmed = new Promise<void>((resolve) => (confirm = resolve));
    let detach: (() => void) | undefined;
    try {
      detach = await rt.hub.attach(sessionId, STANDALONE_STREAM, {
        delivery: undefined,
        deliver: (message) => message.type === 'terminated' && confirm(),
      });
      rt.hub.forget(sessionId);
      // A session no instance runs (evicted, or its instance gone) has nobody to confirm.
      if (await rt.host.terminate(sessionId, principalOf(res).userId, 'deleted by the client')) {
        const timer = setTimeout(confirm, CONFIRM_MS);
        await confirmed;
        clearTimeout(timer);
      }
    } catch (error) {
      rt.logger.warn('session termination failed', { sessionId, error: (error as Error).message });
      serviceUnavailable(res);
      return;
    } finally {
      detach?.();
    }
    res.status(200).end();
  };
}
