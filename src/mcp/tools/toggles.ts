import { z } from 'zod';
import type { SessionFeatureState } from '../session-features.js';
import { defineTool, needsSession, SESSION_SWITCH, textResult } from './types.js';

/**
 * Per-session switches for simulated notifications. Both are off by default;
 * while off there is no timer at all. While on, the notifications go to the
 * standalone (GET) stream and only while a client listens there.
 */

const ENABLED = z
  .boolean()
  .optional()
  .describe('true switches on, false switches off; omitted flips the current setting');

type Switch = 'simulatedLogging' | 'subscriberUpdates';

function flip(state: SessionFeatureState, key: Switch, enabled: boolean | undefined): boolean {
  const next = enabled ?? state[key] !== true;
  // Off is stored as absence, so a default session carries nothing.
  if (next) state[key] = true;
  else delete state[key];
  return next;
}

export const toggleSimulatedLoggingTool = defineTool({
  name: 'toggle-simulated-logging',
  description:
    "Switches this session's simulated logging on or off: log messages of random levels on the standalone stream at a steady pace, filtered by logging/setLevel. Off by default",
  annotations: { title: 'Toggle Simulated Logging', ...SESSION_SWITCH },
  args: z.object({ enabled: ENABLED }),
  run: ({ enabled }, { session }) => {
    if (!session) return needsSession('toggle-simulated-logging');
    const { state, controls } = session;
    const on = flip(state, 'simulatedLogging', enabled);
    controls.stateChanged();
    controls.refreshTimers();
    return textResult(
      on
        ? `Simulated logging is on for this session: messages of random levels arrive on the standalone stream (only while it is open), at or above the level set with logging/setLevel (now ${state.logLevel}).`
        : 'Simulated logging is off for this session.',
    );
  },
});

export const toggleSubscriberUpdatesTool = defineTool({
  name: 'toggle-subscriber-updates',
  description:
    "Switches this session's simulated resource updates on or off: notifications/resources/updated for every subscribed resource on the standalone stream at a steady pace. Off by default (the 100 static resources report updates to their subscribers regardless)",
  annotations: { title: 'Toggle Subscriber Updates', ...SESSION_SWITCH },
  args: z.object({ enabled: ENABLED }),
  run: ({ enabled }, { session }) => {
    if (!session) return needsSession('toggle-subscriber-updates');
    const { state, controls } = session;
    const on = flip(state, 'subscriberUpdates', enabled);
    controls.stateChanged();
    controls.refreshTimers();
    const subscribed = state.subscriptions.size;
    return textResult(
      on
        ? `Simulated resource updates are on for this session: each of the ${subscribed} subscribed resource(s) gets notifications/resources/updated on the standalone stream (only while it is open).`
        : 'Simulated resource updates are off for this session (subscribers of the 100 static resources are still told of updates).',
    );
  },
});
