import { z } from 'zod';
import { sleep } from './sleep.js';
import { defineTool, READ_ONLY, textResult } from './types.js';

/**
 * Conformance fixtures that send notifications while they run: log messages,
 * progress, and an SSE stream closed mid-call (SEP-1699 polling).
 */

/** The pause between the steps of these tools, so that clients see the messages arrive one by one. */
export const FIXTURE_STEP_MS = 50;

export const testToolWithLoggingTool = defineTool({
  name: 'test_tool_with_logging',
  description: 'Conformance fixture: sends three info log messages, 50 ms apart, while it runs',
  annotations: { title: 'Test: Tool with Logging', ...READ_ONLY },
  args: z.object({}),
  run: async (_args, { signal, log }) => {
    const messages = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
    for (const [index, message] of messages.entries()) {
      if (index > 0 && !(await sleep(FIXTURE_STEP_MS, signal))) return textResult('Cancelled.');
      await log('info', message);
    }
    return textResult('Tool with logging executed successfully');
  },
});

export const testToolWithProgressTool = defineTool({
  name: 'test_tool_with_progress',
  description:
    'Conformance fixture: reports progress 0, 50 and 100 of 100, 50 ms apart, when the call carries a progress token',
  annotations: { title: 'Test: Tool with Progress', ...READ_ONLY },
  args: z.object({}),
  run: async (_args, context) => {
    for (const [index, progress] of [0, 50, 100].entries()) {
      if (index > 0 && !(await sleep(FIXTURE_STEP_MS, context.signal))) return textResult('Cancelled.');
      await context.progress(progress, 100, `Progress ${progress} of 100`);
    }
    return textResult(
      !context.reportsProgress
        ? 'Tool with progress executed successfully (no progress token, so no progress was reported)'
        : 'Tool with progress executed successfully',
    );
  },
});

/** How long test_reconnection keeps working after closing the stream: the client reconnects meanwhile. */
export const RECONNECTION_DELAY_MS = 100;

export const testReconnectionTool = defineTool({
  name: 'test_reconnection',
  description:
    "Conformance fixture (SEP-1699): closes the call's SSE stream mid-call; the client reconnects with Last-Event-ID and receives the result on the resumed stream",
  annotations: { title: 'Test: Reconnection', ...READ_ONLY },
  args: z.object({}),
  run: async (_args, { signal, session }) => {
    // Only transports with resumable streams offer this; elsewhere the result arrives on the open stream.
    const closeStream = session?.extra.closeSSEStream;
    closeStream?.();
    const closed = closeStream !== undefined;
    await sleep(RECONNECTION_DELAY_MS, signal);
    return textResult(
      closed
        ? 'Reconnection test completed: the server closed the stream mid-call and this result reached the reconnected client.'
        : 'Reconnection test completed (this transport cannot close the stream mid-call, so it stayed open).',
    );
  },
});
