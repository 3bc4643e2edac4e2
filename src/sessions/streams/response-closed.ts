import type { Response } from 'express';

/**
 * Calls `handler` once the response is over (its 'close': done, or the client
 * gone), at once if it already is: a client may leave while the route awaited
 * something, and 'close' does not fire twice.
 */
export function whenClosed(res: Response, handler: () => void): void {
  if (res.closed || res.destroyed) {
    handler();
    return;
  }
  // One 'close' listener per response runs them all: each listener of its own costs a bound
  // wrapper and its state, for as long as the response lives (a listen stream: hours).
  const holder = res as Response & { [CLOSE_HANDLERS]?: Array<() => void> };
  const handlers = holder[CLOSE_HANDLERS];
  if (handlers) {
    handlers.push(handler);
    return;
  }
  const list = [handler];
  holder[CLOSE_HANDLERS] = list;
  res.once('close', () => {
    for (const run of list) run();
  });
}

const CLOSE_HANDLERS = Symbol('closeHandlers');
