import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Implementation, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { registerCompletionHandler } from './completions.js';
import { SERVER_ICONS } from './icons.js';
import { registerLoggingHandlers } from './logging.js';
import { registerPromptHandlers } from './prompts/index.js';
import { registerResourceHandlers } from './resources/index.js';
import {
  createUpdateTicker,
  registerSubscriptionHandlers,
  RESOURCE_UPDATE_INTERVAL_MS,
} from './resources/subscriptions.js';
import { registerRootsHandlers } from './roots.js';
import type { EverythingServerOptions, SessionControls } from './session-features.js';
import { createSimulatedLogger } from './simulated-logging.js';
import { registerToolHandlers } from './tools/index.js';

export type { EverythingServerOptions } from './session-features.js';
export { RESOURCE_UPDATE_INTERVAL_MS } from './resources/subscriptions.js';
export { sendLog } from './logging.js';

export const SERVER_INFO: Implementation = Object.freeze({
  name: 'mcp-everything-server',
  version: '0.1.0',
  title: 'MCP Everything Server',
  icons: SERVER_ICONS,
});

/**
 * What every session announces. Tools and prompts can change per session
 * (toggle-dynamic-features), hence listChanged; the resource catalogue never
 * changes, so resources only offer subscriptions.
 */
export const CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: true },
  resources: { subscribe: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
};

/** Added when the session has a task store: tools/call may run as a task, and tasks can be listed and cancelled. */
const TASK_CAPABILITIES: ServerCapabilities = {
  ...CAPABILITIES,
  tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
};

/**
 * The SDK otherwise builds a JSON-schema validator (an Ajv instance) per
 * server, which would dominate the memory of an idle session. One per process
 * is enough: it is only used to check elicitation answers.
 */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

export interface EverythingServer {
  server: Server;
  /** Stops the session's timers and gives back its subscriptions; call when the session ends here. */
  dispose(): void;
}

/** A fresh SDK server for one session, reading and updating `options.state`. */
export function createEverythingServer(options: EverythingServerOptions): EverythingServer {
  const { state, listener } = options;
  const server = new Server(SERVER_INFO, {
    capabilities: options.taskStore ? TASK_CAPABILITIES : CAPABILITIES,
    jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR,
    ...(options.taskStore && { taskStore: options.taskStore }),
  });

  const updateIntervalMs = options.updateIntervalMs ?? RESOURCE_UPDATE_INTERVAL_MS;
  // Both exist for every session but hold a timer only while a toggle or subscription needs one.
  const ticker = createUpdateTicker(server, state, listener, updateIntervalMs);
  const simulatedLogger = createSimulatedLogger(server, state, listener, options.simulatedLogIntervalMs ?? updateIntervalMs);
  const stateChanged = () => options.onStateChange?.(state);
  const controls: SessionControls = {
    stateChanged,
    refreshTimers() {
      ticker.refresh();
      simulatedLogger.refresh();
    },
  };

  registerToolHandlers(server, state, controls, options.calls);
  registerResourceHandlers(server);
  const releaseSubscriptions = registerSubscriptionHandlers(
    server,
    state,
    () => {
      ticker.refresh();
      stateChanged();
    },
    options.subscriptionBudget,
  );
  registerPromptHandlers(server, state);
  registerCompletionHandler(server);
  registerLoggingHandlers(server, state, stateChanged);
  registerRootsHandlers(server, state, listener);

  return {
    server,
    dispose: () => {
      ticker.dispose();
      simulatedLogger.dispose();
      releaseSubscriptions();
    },
  };
}
