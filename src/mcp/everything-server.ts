import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { registerCompletionHandler } from './completions.js';
import { registerLoggingHandlers } from './logging.js';
import { registerPromptHandlers } from './prompts/index.js';
import { registerResourceHandlers } from './resources/index.js';
import {
  createUpdateTicker,
  registerSubscriptionHandlers,
  RESOURCE_UPDATE_INTERVAL_MS,
} from './resources/subscriptions.js';
import type { EverythingServerOptions } from './session-features.js';
import { registerToolHandlers } from './tools/index.js';

export type { EverythingServerOptions } from './session-features.js';
export { RESOURCE_UPDATE_INTERVAL_MS } from './resources/subscriptions.js';
export { sendLog } from './logging.js';

export const SERVER_INFO = Object.freeze({ name: 'mcp-everything-server', version: '0.1.0' });

const CAPABILITIES = {
  tools: {},
  resources: { subscribe: true },
  prompts: {},
  logging: {},
  completions: {},
};

/**
 * The SDK otherwise builds a JSON-schema validator (an Ajv instance) per
 * server, which would dominate the memory of an idle session. One per process
 * is enough: it is only used to check elicitation answers.
 */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

export interface EverythingServer {
  server: Server;
  /** Stops the session's timer; call when the session ends. */
  dispose(): void;
}

/** A fresh SDK server for one session, reading and updating `options.state`. */
export function createEverythingServer(options: EverythingServerOptions): EverythingServer {
  const { state, listener } = options;
  const server = new Server(SERVER_INFO, {
    capabilities: CAPABILITIES,
    jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR,
  });

  const ticker = createUpdateTicker(
    server,
    state,
    listener,
    options.updateIntervalMs ?? RESOURCE_UPDATE_INTERVAL_MS,
  );
  const stateChanged = () => options.onStateChange?.(state);

  registerToolHandlers(server, state);
  registerResourceHandlers(server);
  registerSubscriptionHandlers(server, state, () => {
    ticker.refresh();
    stateChanged();
  });
  registerPromptHandlers(server);
  registerCompletionHandler(server);
  registerLoggingHandlers(server, state, stateChanged);

  return { server, dispose: () => ticker.dispose() };
}
