import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { sendLog } from './logging.js';
import { createPeriodicTask, type PeriodicTask } from './periodic.js';
import type { SessionFeatureState, StandaloneListener } from './session-features.js';

export const SIMULATED_LOGGER_NAME = 'simulated-logging';

const LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** One simulated message per level, built once. */
const MESSAGES: Readonly<Record<LoggingLevel, string>> = Object.fromEntries(
  LEVELS.map((level) => [level, `Simulated ${level} message from the everything server`]),
) as Record<LoggingLevel, string>;

/**
 * toggle-simulated-logging: while the session has it switched on and a client
 * listens on the standalone stream, a log message of a random level goes there
 * every interval. Messages below the session's logging/setLevel are skipped,
 * so at high levels they arrive further apart. Off (no timer at all) by default.
 */
export function createSimulatedLogger(
  server: Server,
  state: SessionFeatureState,
  listener: StandaloneListener,
  intervalMs: number,
  random: () => number = Math.random,
): PeriodicTask {
  return createPeriodicTask(
    listener,
    intervalMs,
    () => state.simulatedLogging === true,
    () => {
      const level = LEVELS[Math.floor(random() * LEVELS.length)] ?? 'info';
      // Not tied to a request: goes to the standalone stream. A closed transport is not our error to raise.
      sendLog(server, state, level, MESSAGES[level], SIMULATED_LOGGER_NAME).catch(() => {});
    },
  );
}
