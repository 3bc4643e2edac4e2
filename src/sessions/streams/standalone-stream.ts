import type { Response } from 'express';
import { STANDALONE_STREAM } from '../../protocol/channels.js';
import { comparePositions, formatEventId, type EventId, type StoredEvent } from '../../protocol/event-ids.js';
import { envelope, type Principal, type ToClientEnvelope } from '../../protocol/envelopes.js';
import type { ResolvedSession } from '../edge/session-gateway.js';
import { LoggedStream } from './logged-stream.js';
import { whenClosed } from './response-closed.js';
import type { StreamContext } from './stream-context.js';

/** How opening a standalone stream ended: open (or closed again by its client meanwhile), or refused before anything was written. */
export type StandaloneOutcome = 'opened' | 'conflict' | 'gone' | 'unavailable';

/**
 * The session's standalone stream, for messages no request caused (list
 * changes, resource updates, server requests outside a call). One per session
 * across all instances, held through a lease in the store; `resumeFrom` (a
 * Last-Event-ID of this stream) replays what it missed from the event log. A
 * client that stops reading gets the rest from the log once it reads again.
 * A refusal is returned before anything is written, for the caller to answer.
 */
export async function openStandaloneStream(
  ctx: StreamContext,
  res: Response,
  session: ResolvedSession,
  principal: Principal,
  resumeFrom: EventId | undefined,
): Promise<StandaloneOutcome> {
  const { sessionId } = session;
  const { gateway, keepAlive, logger } = ctx;
  const holder = ctx.nextDeliveryId();
  let detach: (() => void) | undefined;
  let unhold: (() => void) | undefined;
  // Where this stream starts in the event log (unknown: undefined).
  let startPosition: string | undefined;
  // Order, de-duplication and gap crossing, shared with request streams.
  const core = new LoggedStream(ctx, res, {
    sessionId,
    kind: 'standalone',
    readAfter: async (position) => {
      // Never further back than where the stream started; not knowing where that was, nothing.
      if (startPosition === undefined) return position === '0-0' ? [] : gateway.readLog(sessionId, position, '');
      return gateway.readLog(sessionId, comparePositions(position, startPosition) > 0 ? position : startPosition, '');
    },
    write: (_streamKey, incoming) => write(incoming),
    isOver: () => closed,
    // The client reconnects (with its Last-Event-ID) and goes on from what the log still holds.
    lostForGood: () => void close(),
  });
  const writer = core.writer;
  const write = (incoming: ToClientEnvelope) => {
    if (incoming.type === 'message') {
      const { position } = incoming;
      if (!core.fresh(position)) return;
      const id = position ? formatEventId({ position, delivery: '', streamKey: STANDALONE_STREAM }) : undefined;
      writer.event(JSON.stringify(incoming.message), { id });
    } else if (incoming.type === 'close') {
      writer.endWithRetry(incoming.retryMs);
      void close();
    } else if (incoming.type === 'terminated') {
      // The session is gone: a client that is behind (full or not) has no use for what it has not read yet.
      writer.endDroppingUnread();
      void close();
    } else if (incoming.type === 'end') void close();
  };
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
    gateway.unwatch(dependent);
    detach?.();
    unhold?.();
    // A stream refused before it opened is answered by the caller.
    if (writer.isOpen) writer.end();
    if (claimed) await gateway.releaseStandalone(sessionId, holder);
    if (announced) await gateway.notify(sessionId, JSON.stringify(envelope.standalone('closed', principal))).catch(() => undefined);
  };
  // The client may have left while the session was looked up: then the stream is over at once.
  whenClosed(res, () => void close());


  try {
    claimed = await gateway.claimStandalone(sessionId, holder);
    if (!claimed) return 'conflict';
    if (closed) {
      await gateway.releaseStandalone(sessionId, holder);
      return 'opened';
    }
    detach = await gateway.subscribe(sessionId, STANDALONE_STREAM, {
      delivery: undefined,
      deliver: (incoming) => core.live(STANDALONE_STREAM, incoming),
      lost: () => core.lost(),
      restored: () => core.restored(),
    });
    if (closed) {
      detach();
      return 'opened';
    }
    announced = true;
    // Opening the stream is also the session's next message: it may wake it up elsewhere.
    const delivered = await gateway.publish(sessionId, principal.userId, [JSON.stringify(envelope.standalone('open', principal))], dependent.ownerInstanceId);
    if (delivered.outcome !== 'delivered') {
      announced = false;
      await close();
      return delivered.outcome;
    }
    if (delivered.instanceId) dependent.ownerInstanceId = delivered.instanceId;
  } catch (error) {
    logger.warn('could not open standalone stream', { sessionId, error: (error as Error).message });
    await close();
    return 'unavailable';
  }
  let replay: StoredEvent[] = [];
  try {
    if (resumeFrom) {
      replay = await gateway.readLog(sessionId, resumeFrom.position, '');
      startPosition = resumeFrom.position;
    } else startPosition = await gateway.lastLogPosition(sessionId);
  } catch (error) {
    logger.warn('could not read the event log', { sessionId, error: (error as Error).message });
  }
  if (closed) return 'opened';
  unhold = gateway.keep(sessionId, principal.userId, { standalone: true });
  writer.open();
  core.flush(replay);
  if (closed) return 'opened';
  keepAlive.add(writer);
  gateway.watch(dependent);
  core.started();
  return 'opened';
}
