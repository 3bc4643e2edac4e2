import type { Response } from 'express';
import type { Tap, TapEvent } from '../../sessions/console/session-tap.js';
import type { Runtime } from '../../runtime.js';
import { serviceUnavailable } from '../errors.js';
import { whenClosed } from '../../sessions/streams/response-closed.js';
import { SseWriter } from '../../sessions/streams/sse-writer.js';

/** How often an open tap checks that its session still lives and its viewer is still signed in. */
const RECHECK_MS = 30_000;

/**
 * Streams one session's tap as Server-Sent Events: `ready` once listening,
 * `tap` per message (TapEvent as JSON), `dropped` with a count after messages
 * were skipped because the page did not read (the stream never holds more
 * than STREAM_BUFFER_MAX_BYTES unread, and a page that reads nothing for
 * STREAM_LINGER_S is cut), and `end` with a reason when the session ends.
 */
export async function tapStream(
  rt: Runtime,
  res: Response,
  options: { sessionId: string; stillAllowed: () => Promise<boolean> },
): Promise<void> {
  const writer = new SseWriter(res, rt.edge.bounds);
  let tap: Tap | undefined;
  let closed = false;
  let dropped = 0;
  let waitingForDrain = false;
  let opened = false;
  let endedWith: string | undefined;
  const send = (name: string, data: unknown) => writer.event(JSON.stringify(data), { name });
  const finish = (reason: string) => {
    if (!opened) {
      endedWith ??= reason; // ended while subscribing: said once the stream opens
      return;
    }
    send('end', { reason });
    writer.end();
  };
  const onEvent = (event: TapEvent) => {
    if (!writer.isOpen) return;
    if (waitingForDrain || writer.isFull) {
      dropped += 1;
      if (waitingForDrain) return;
      waitingForDrain = true;
      void writer
        .drained()
        .then(() => {
          waitingForDrain = false;
          if (dropped > 0) send('dropped', { count: dropped });
          dropped = 0;
        })
        .catch(() => undefined);
      return;
    }
    send('tap', event);
  };
  const recheck = setInterval(() => {
    options
      .stillAllowed()
      .then((allowed) => allowed || finish('the session ended, or your sign-in expired'))
      .catch(() => undefined);
  }, RECHECK_MS);
  recheck.unref();
  whenClosed(res, () => {
    closed = true;
    clearInterval(recheck);
    rt.edge.keepAlive.remove(writer);
    void tap?.close();
  });

  try {
    tap = await rt.gateway.tap(options.sessionId, onEvent, (reason) => finish(`session ended: ${reason}`));
  } catch (error) {
    rt.logger.warn('session tap not subscribed', { error: (error as Error).message });
    clearInterval(recheck);
    serviceUnavailable(res);
    return;
  }
  if (closed) {
    void tap.close();
    return;
  }
  writer.open({}, true);
  opened = true;
  send('ready', { sessionId: options.sessionId });
  if (endedWith !== undefined) {
    finish(endedWith);
    return;
  }
  rt.edge.keepAlive.add(writer);
}
