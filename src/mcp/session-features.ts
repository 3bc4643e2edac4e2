import type { TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { CallObserver } from '../observability/metrics.js';

/** A URL elicitation that trigger-url-elicitation's error path demanded and a retry has not yet met. */
export interface PendingUrlElicitation {
  url: string;
  elicitationId: string;
}

/**
 * What the everything server keeps about one session besides the SDK's own
 * protocol state. Kept as plain data so that the session runtime can persist
 * it (and later rebuild a session from it on another instance).
 *
 * The optional fields are per-session switches of feature set B; an absent
 * field means "off" / "none", so a fresh session stores nothing for them and
 * state saved before they existed still loads.
 */
export interface SessionFeatureState {
  /** Minimum level of `notifications/message` the client wants (logging/setLevel). */
  logLevel: LoggingLevel;
  /** Resource URIs the client subscribed to (resources/subscribe). */
  subscriptions: Set<string>;
  /** toggle-simulated-logging: periodic log messages of random levels on the standalone stream. */
  simulatedLogging?: boolean;
  /** toggle-subscriber-updates: periodic `notifications/resources/updated` for every subscribed URI. */
  subscriberUpdates?: boolean;
  /** toggle-dynamic-features: `dynamic-tool` and `dynamic-prompt` are listed and usable. */
  dynamicFeatures?: boolean;
  /** trigger-url-elicitation (errorPath): elicitations answered with -32042, awaiting the retry. */
  pendingUrlElicitations?: PendingUrlElicitation[];
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

/** The instance's budget of resource subscriptions, for one session's user. */
export interface SubscriptionBudget {
  /** One more subscription, or throws LimitExceeded. Returns the function that gives it back. */
  admit(): () => void;
  /** Counts a subscription the session already had (it was rebuilt here): never refused. */
  hold(): () => void;
}

export interface EverythingServerOptions {
  sessionId: string;
  state: SessionFeatureState;
  listener: StandaloneListener;
  /** Called after the state changed (level set, subscription added/removed, a toggle switched). */
  onStateChange?: (state: SessionFeatureState) => void;
  /**
   * Period of `notifications/resources/updated` for subscribed resources.
   * Defaults to RESOURCE_UPDATE_INTERVAL_MS (10 s); tests shorten it.
   */
  updateIntervalMs?: number;
  /**
   * Period of the simulated log messages (toggle-simulated-logging).
   * Defaults to `updateIntervalMs`, so one setting paces every periodic
   * notification of a session.
   */
  simulatedLogIntervalMs?: number;
  /**
   * Where tasks (2025-11-25, experimental) are kept. With it the server offers
   * task-augmented tools/call and tasks/get, result, list and cancel.
   */
  taskStore?: TaskStore;
  /** Where tool calls are counted (metrics); none = not counted. */
  calls?: CallObserver;
  /** Counts the session's subscriptions against the instance's budgets; none = not counted. */
  subscriptionBudget?: SubscriptionBudget;
}

export function initialFeatureState(): SessionFeatureState {
  return { logLevel: 'debug', subscriptions: new Set() };
}

/**
 * What a tool may do to its session beyond reading and writing the state:
 * report the change (for persistence) and restart or stop the periodic timers.
 */
export interface SessionControls {
  /** Call after changing the state, so the runtime can persist it. */
  stateChanged(): void;
  /** Re-evaluates every periodic timer of the session against the current state. */
  refreshTimers(): void;
}
