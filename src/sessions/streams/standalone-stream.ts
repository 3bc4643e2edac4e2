import type { Response } from 'express';
import { principalOf } from '../../auth/principal.js';
import { channels, keys, STANDALONE_STREAM } from '../../protocol/channels.js';
import { comparePositions, formatEventId, type EventId, type StoredEvent } from '../../store/event-store.js';
import { envelope, type ToClientEnvelope } from '../../protocol/envelopes.js';
import type { Runtime } from '../../runtime.js';
import { holdWhileOpen, sendJsonRpcError, serviceUnavailable, sessionNotFound, whenClosed } from '../../http/errors.js';
import type { KeepAlive } from './keep-alive.js';
import { publishToSession } from '../edge/session-publish.js';
import type { ResolvedSession } from '../edge/session-resolve.js';
import { logPosition } from './request-stream.js';
import { SseWriter, streamBounds } from './sse-writer.js';
import { StreamCatchUp } from './stream-catch-up.js';

/**
 * The session's standalone stream, for messages no request caused (list
 * changes, resource updates, server requests outside a call). One per session
 * across all instances, held through a lease in the store; `resumeFrom` (a
 * Last-Event-ID of this stream) replays what it missed from the event log. A
 * client that stops reading gets the rest from the log once it reads again.
 */
export async function openStandaloneStream(
  rt: Runtime,
  keepAlive: KeepAlive,
  res: Response,
  session: ResolvedSession,
  resumeFrom: EventId | undefined,
): Promise<void> {
  const { sessionId } = session;
  const principal = principalOf(res);
  if (!holdWhileOpen(res, () => rt.streams.acquire(principal.userId))) return;
  const holderKey = keys.standaloneHolder(sessionId);
  const holder = rt.nextDeliveryId();
  const writer = new SseWriter(res, streamBounds(rt));
  let detach: (() => void) | undefined;
  let unhold: (() => void) | undefined;
  // Messages that arrive before the replay is written wait here, in order.
  let ordered: ToClientEnvelope[] | undefined = [];
  let lastPosition = '0-0';
  // Where this stream starts in the event log (unknown: undefined).
  let startPosition: string | undefined;
  const write = (incoming: ToClientEnvelope) => {
    if (incoming.type === 'message') {
      const { position } = incoming;
      if (position && comparePositions(position, lastPosition) <= 0) return;
      if (position) lastPosition = position;
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
  // The client may have left while the session was looked up: then the stream is over at once.
  whenClosed(res, () => void close());

  // Backpressure and subscriber losses: what the stream missed is read from the log.
  const catchUp = new StreamCatchUp({
    lastPosition: () => lastPosition,
    readAfter: async (position) => {
      // Never further back than where the stream started; not knowing where that was, nothing.
      if (startPosition === undefined) return position === '0-0' ? [] : rt.backend.events.after(sessionId, position, '');
      return rt.backend.events.after(sessionId, comparePositions(position, startPosition) > 0 ? position : startPosition, '');
    },
    writeStored: (event) => write(envelope.stored(event)),
    isOver: () => closed,
    isFull: () => writer.isFull,
    drained: () => writer.drained(),
    lostForGood: () => {
      // The client reconnects (with its Last-Event-ID) and goes on from what the log still holds.
      rt.logger.warn('stream ended: its client did not read in time', { sessionId, kind: 'standalone' });
      void close();
    },
    warn: (message, error) => rt.logger.warn(message, { sessionId, error: error.message }),
  });
  const deliver = (incoming: ToClientEnvelope) => {
    const writeLive = () => {
      write(incoming);
      catchUp.wrote();
    };
    // The session ended: nothing that waits matters any more, and the stream ends now.
    if (incoming.type === 'terminated' || !catchUp.hold(writeLive, logPosition(incoming))) writeLive();
  };

  try {
    claimed = await rt.backend.kv.set(holderKey, holder, rt.held.leaseTtlMs, { onlyIfAbsent: true });
    if (!claimed) {
      sendJsonRpcError(res, 409, -32000, 'Conflict: a standalone stream is already open for this session');
      return;
    }
    if (closed) return void rt.backend.kv.delIfEquals(holderKey, holder).catch(() => false);
    detach = await rt.hub.attach(sessionId, STANDALONE_STREAM, {
      delivery: undefined,
      deliver: (incoming) => (ordered ? ordered.push(incoming) : deliver(incoming)),
      lost: () => catchUp.lost(),
      restored: () => catchUp.restored(),
    });
    if (closed) return void detach();
    announced = true;
    // Opening the stream is also the session's next message: it may wake it up elsewhere.
    const delivered = await publishToSession(rt, sessionId, principal.userId, [JSON.stringify(envelope.standalone('open', principal))]);
    if (delivered.outcome !== 'delivered') {
      announced = false;
      if (delivered.outcome === 'gone') sessionNotFound(res);
      else serviceUnavailable(res);
      await close();
      return;
    }
    if (delivered.instanceId) dependent.ownerInstanceId = delivered.instanceId;
    else if (dependent.ownerInstanceId === '') dependent.ownerInstanceId = (await rt.directory.instanceOf(sessionId)) ?? '';
  } catch (error) {
    rt.logger.warn('could not open standalone stream', { sessionId, error: (error as Error).message });
    serviceUnavailable(res);
    await close();
    return;
  }
  let replay: StoredEvent[] = [];
  try {
    if (resumeFrom) {
      replay = await rt.backend.events.after(sessionId, resumeFrom.position, '');
      startPosition = resumeFrom.position;
    } else startPosition = await rt.backend.events.lastPosition(sessionId);
  } catch (error) {
    rt.logger.warn('could not read the event log', { sessionId, error: (error as Error).message });
  }
  if (closed) return;
  unhold = rt.held.hold(sessionId, principal.userId, holderKey);
  writer.open();
  const arrived = ordered;
  ordered = undefined;
  for (const event of replay) write(envelope.stored(event));
  for (const incoming of arrived) deliver(incoming);
  if (closed) return;
  keepAlive.add(writer);
  rt.watch.add(dependent);
  catchUp.opened();
}
