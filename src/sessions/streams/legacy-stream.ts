import type { Response } from 'express';
import { decode, ToClientEnvelopeSchema, type Principal } from '../../protocol/envelopes.js';
import { errorEvent } from './error-event.js';
import { whenClosed } from './response-closed.js';
import { SseWriter } from './sse-writer.js';
import type { StreamContext } from './stream-context.js';

/**
 * The stream of a legacy SSE session (HTTP+SSE transport of 2024-11-05): the
 * session lives as long as this stream, and ends with it. Its messages still
 * cross the bus, so POST /message works on any instance. This transport has no
 * event log to read back from: a client that leaves more unread than
 * STREAM_BUFFER_MAX_BYTES has its stream cut, which ends the session.
 * Resolves to false when the stream could not be opened (nothing was written).
 */
export async function openLegacyStream(ctx: StreamContext, res: Response, sessionId: string, principal: Principal): Promise<boolean> {
  const { gateway, keepAlive, logger } = ctx;
  const writer = new SseWriter(res, ctx.bounds);
  let unhold: (() => void) | undefined;
  let stopListening: (() => Promise<void>) | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    keepAlive.remove(writer);
    unhold?.();
    if (writer.isOpen) writer.end();
    void stopListening?.();
    void gateway.terminate(sessionId, principal.userId, 'stream closed').catch(() => undefined);
  };
  const listener = (raw: string) => {
    const incoming = decode(ToClientEnvelopeSchema, raw);
    if (incoming?.type === 'message') writer.event(JSON.stringify(incoming.message));
    else if (incoming?.type === 'rejected') writer.event(errorEvent(incoming.requestId, incoming.code, incoming.reason, incoming.data));
    else if (incoming?.type === 'terminated') close();
    if (writer.isFull && writer.isOpen) {
      logger.warn('stream cut: its client does not read', { sessionId, kind: 'legacy', limit: ctx.bounds.maxBufferedBytes });
      writer.cut();
    }
  };
  // The client may have left while the session was created: then it ends at once.
  whenClosed(res, close);
  try {
    stopListening = await gateway.listenLegacy(sessionId, listener);
  } catch (error) {
    logger.warn('could not open legacy stream', { sessionId, error: (error as Error).message });
    close();
    return false;
  }
  if (closed) {
    void stopListening();
    return true;
  }
  unhold = gateway.keep(sessionId, principal.userId);
  writer.open();
  writer.event(`/message?sessionId=${sessionId}`, { name: 'endpoint' });
  keepAlive.add(writer);
  return true;
}
