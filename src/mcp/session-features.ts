import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';

/**
 * What the everything server keeps about one session besides the SDK's own
 * protocol state. Kept as plain data so that the session runtime can persist
 * it (and later rebuild a session from it on another instance).
 */
export interface SessionFeatureState {
  /** Minimum level of `notifications/message` the client wants (logging/setLevel). */
  logLevel: LoggingLevel;
  /** Resource URIs the client subscribed to (resources/subscribe). */
  subscriptions: Set<string>;
}

/**
 * Whether a client currently listens on the session's standalone (GET) stream.
 * Messages that are not caused by a request go there; periodic notifications
 * only run while someone listens, so idle sessions publish nothing.
 */
export interface StandaloneListener {
  isOpen(): boolean;
  /** Registers a callback run whenever isOpen() may have changed. */
  onChange(callback: () => void): void;
}

export interface EverythingServerOptions {
  sessionId: string;
  state: SessionFeatureState;
  listener: StandaloneListener;
  /** Called after the state changed (level set, subscription added/removed). */
  onStateChange?: (state: SessionFeatureState) => void;
  /**
   * Period of `notifications/resources/updated` for subscribed resources.
   * Defaults to RESOURCE_UPDATE_INTERVAL_MS (10 s); tests shorten it.
   */
  updateIntervalMs?: number;
}

export function initialFeatureState(): SessionFeatureState {
  return { logLevel: 'debug', subscriptions: new Set() };
}
