import type { RequestHandler } from 'express';
import { principalOf } from '../auth/principal.js';
import { channels, keys, STANDALONE_STREAM } from '../routing/channels.js';
import { envelope } from '../routing/envelopes.js';
import type { Runtime } from '../session/runtime.js';
import { acceptsStream } from './checks.js';
import { sendJsonRpcError, serviceUnavailable } from './errors.js';
import { resolveStreamableSession } from './session-guard.js';
import { SseWriter } from './sse-writer.js';
import type { KeepAlive } from './keep-alive.js';

/**
 * GET /mcp: the session's standalone stream, for messages no request caused
 * (list changes, resource updates, server requests outside a call). One per
 * session across all instances, held through a lease in the store.
 */
export function mcpGet(rt: Runtime, keepAlive: KeepAlive): RequestHandler {
  return async (req, res) => {
    if (!acceptsStream(req)) {
      sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
      return;
    }
    const session = await resolveStreamableSession(rt, req, res);
    if (!session) return;
    const { sessionId } = session;
    const principal = principalOf(res);
    const holderKey = keys.standaloneHolder(sessionId);
    const holder = rt.nextDeliveryId();
    const writer = new SseWriter(res);
    let detach: (() => void) | undefined;
    let unhold: (() => void) | undefined;
    // The stream ends when the session's owner dies: its session is gone.
    const dependent = { ownerInstanceId: session.meta.instanceId, startedAt: Date.now(), ownerLost: () => void close() };
    let claimed = false;
    let announced = false;
    let closed = false;

    // Runs once, whenever the stream ends: client gone, session ended, or setup failed.
    const close = async () => {
      if (closed) return;
      closed = true;
      keepAlive.remove(writer);
      rt.watch.remove(dependent);
      detach?.();
      unhold?.();
      writer.end();
      if (claimed) await rt.backend.kv.delIfEquals(holderKey, holder).catch(() => false);
      if (announced) {
        await rt.backend.bus
          .publish(channels.toServer(sessionId), JSON.stringify(envelope.standalone('closed', principal)))
          .catch(() => undefined);
      }
    };
    res.on('close', () => void close());

    try {
      claimed = await rt.backend.kv.set(holderKey, holder, rt.held.leaseTtlMs, { onlyIfAbsent: true });
      if (!claimed) {
        sendJsonRpcError(res, 409, -32000, 'Conflict: a standalone stream is already open for this session');
        return;
      }
      if (closed) return void rt.backend.kv.delIfEquals(holderKey, holder).catch(() => false);
      detach = await rt.hub.attach(sessionId, STANDALONE_STREAM, {
        delivery: undefined,
        deliver: (incoming) => {
          if (incoming.type === 'message') writer.event(JSON.stringify(incoming.message));
          else if (incoming.type === 'end') void close();
        },
      });
      if (closed) return void detach();
      announced = true;
      await rt.backend.bus.publish(channels.toServer(sessionId), JSON.stringify(envelope.standalone('open', principal)));
    } catch (error) {
      rt.logger.warn('could not open standalone stream', { sessionId, error: (error as Error).message });
      serviceUnavailable(res);
      await close();
      return;
    }
    if (closed) return;
    unhold = rt.held.hold(sessionId, holderKey);
    writer.open();
    keepAlive.add(writer);
    rt.watch.add(dependent);
  };
}
