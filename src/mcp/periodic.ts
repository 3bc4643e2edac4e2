import type { StandaloneListener } from './session-features.js';

export interface PeriodicTask {
  /** Starts or stops the timer to match `shouldRun()` and the listener. */
  refresh(): void;
  /** Stops the timer for good. */
  dispose(): void;
}

/**
 * A timer that exists only while the session has something periodic to send
 * (`shouldRun`) and a client listens on the standalone stream, so that an idle
 * session costs no timer and publishes nothing. Each tick re-checks and stops
 * the timer when it is no longer needed.
 */
export function createPeriodicTask(
  listener: StandaloneListener,
  intervalMs: number,
  shouldRun: () => boolean,
  tick: () => void,
): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;

  const active = () => !disposed && listener.isOpen() && shouldRun();

  const onTick = () => {
    if (!active()) {
      refresh();
      return;
    }
    tick();
  };

  function refresh(): void {
    if (active()) {
      if (!timer) {
        timer = setInterval(onTick, intervalMs);
        timer.unref();
      }
    } else if (timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  listener.onChange(refresh);
  refresh();

  return {
    refresh,
    dispose() {
      disposed = true;
      refresh();
    },
  };
}
