import { z } from 'zod';
import { sendLog } from '../logging.js';
import { defineTool, textResult } from './types.js';

export const MAX_OPERATION_SECONDS = 120;
export const MAX_OPERATION_STEPS = 100;

/** Waits `ms`, or less if the signal aborts; resolves to whether the full time passed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const longRunningOperationTool = defineTool({
  name: 'longRunningOperation',
  description: 'Demonstrates a long running operation with progress updates',
  args: z.object({
    duration: z
      .number()
      .gt(0)
      .max(MAX_OPERATION_SECONDS)
      .default(10)
      .describe(`Duration of the operation in seconds (at most ${MAX_OPERATION_SECONDS})`),
    steps: z
      .number()
      .int()
      .min(1)
      .max(MAX_OPERATION_STEPS)
      .default(5)
      .describe(`Number of steps in the operation (1-${MAX_OPERATION_STEPS})`),
  }),
  run: async ({ duration, steps }, { extra, state, progressToken }) => {
    const stepMs = (duration * 1000) / steps;
    for (let step = 1; step <= steps; step++) {
      // A cancelled request gets no response, so stopping is all that is left to do.
      if (!(await sleep(stepMs, extra.signal))) {
        return textResult(`Long running operation cancelled after ${step - 1} of ${steps} steps.`);
      }
      if (progressToken !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: step, total: steps },
        });
      }
      await sendLog(extra, state, 'info', `Completed step ${step} of ${steps}`);
    }
    return textResult(`Long running operation completed. Duration: ${duration} seconds, Steps: ${steps}.`);
  },
});
