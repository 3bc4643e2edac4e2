import { z } from 'zod';
import { sleep } from './sleep.js';
import { defineTool, READ_ONLY, textResult } from './types.js';

export const MAX_OPERATION_SECONDS = 120;
export const MAX_OPERATION_STEPS = 100;

export const longRunningOperationTool = defineTool({
  name: 'longRunningOperation',
  description: 'Demonstrates a long running operation with progress updates',
  annotations: { title: 'Long-Running Operation', ...READ_ONLY },
  // Long work is what tasks are for: a client may poll for the result instead of holding a stream.
  taskSupport: 'optional',
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
  run: async ({ duration, steps }, { signal, progress, log }) => {
    const stepMs = (duration * 1000) / steps;
    for (let step = 1; step <= steps; step++) {
      // A cancelled request gets no response, so stopping is all that is left to do.
      if (!(await sleep(stepMs, signal))) {
        return textResult(`Long running operation cancelled after ${step - 1} of ${steps} steps.`);
      }
      await progress(step, steps);
      await log('info', `Completed step ${step} of ${steps}`);
    }
    return textResult(`Long running operation completed. Duration: ${duration} seconds, Steps: ${steps}.`);
  },
});
