import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  SetLevelRequestSchema,
  type LoggingLevel,
  type LoggingMessageNotification,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { SessionFeatureState } from './session-features.js';

/** RFC 5424 severities, least severe first. */
const SEVERITY: Readonly<Record<LoggingLevel, number>> = {
  debug: 0,
  info: 1,
  notice: 2,
  warning: 3,
  error: 4,
  critical: 5,
  alert: 6,
  emergency: 7,
};

export const DEFAULT_LOGGER_NAME = 'everything';

/**
 * Where a log message goes. Inside a request handler pass its `extra`, so the
 * message travels on that request's stream; elsewhere pass the server, so it
 * goes to the session's standalone stream.
 */
export type LogTarget = Server | Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'sendNotification'>;

export function isLevelEnabled(state: SessionFeatureState, level: LoggingLevel): boolean {
  return levelAdmits(state.logLevel, level);
}

/** Whether a message at `level` passes a client's `minimum`. */
export function levelAdmits(minimum: LoggingLevel, level: LoggingLevel): boolean {
  return SEVERITY[level] >= SEVERITY[minimum];
}

/**
 * Sends `notifications/message` unless the session asked (logging/setLevel)
 * for a higher minimum level.
 */
export async function sendLog(
  target: LogTarget,
  state: SessionFeatureState,
  level: LoggingLevel,
  data: unknown,
  logger: string = DEFAULT_LOGGER_NAME,
): Promise<void> {
  if (!isLevelEnabled(state, level)) return;
  const message: LoggingMessageNotification = {
    method: 'notifications/message',
    params: { level, logger, data },
  };
  if ('sendNotification' in target) {
    await target.sendNotification(message);
  } else {
    await target.notification(message);
  }
}

/** Replaces the SDK's own setLevel handler so the level lives in the persistable session state. */
export function registerLoggingHandlers(
  server: Server,
  state: SessionFeatureState,
  onStateChange: () => void,
): void {
  server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    state.logLevel = request.params.level;
    onStateChange();
    await sendLog(extra, state, 'debug', `Logging level set to: ${state.logLevel}`);
    return {};
  });
}
