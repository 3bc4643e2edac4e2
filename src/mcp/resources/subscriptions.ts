import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import { createPeriodicTask, type PeriodicTask } from '../periodic.js';
import { LimitExceeded } from '../../limits/limit-exceeded.js';
import type { SessionFeatureState, StandaloneListener, SubscriptionBudget } from '../session-features.js';
import { findResource } from './catalog.js';
import { isStaticResourceUri } from './static-resources.js';

/** How often a subscribed resource is reported as updated. */
export const RESOURCE_UPDATE_INTERVAL_MS = 10_000;

/** Bounds what one session can make the server remember. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 100;

export type UpdateTicker = PeriodicTask;

/**
 * Whether a subscribed URI is reported as updated on each tick: the 100
 * static resources always are (the upstream-compatible contract); any other
 * subscribed resource only while the session has switched on
 * toggle-subscriber-updates.
 */
function isReported(state: SessionFeatureState, uri: string): boolean {
  return state.subscriberUpdates === true || isStaticResourceUri(uri);
}

function hasReportedSubscription(state: SessionFeatureState): boolean {
  if (state.subscriptions.size === 0) return false;
  if (state.subscriberUpdates === true) return true;
  for (const uri of state.subscriptions) if (isStaticResourceUri(uri)) return true;
  return false;
}

/**
 * Periodic `notifications/resources/updated` for subscribed URIs. The timer
 * exists only while there is a subscription to report and a client listening
 * on the standalone stream, so idle sessions cost no timer and publish nothing.
 */
export function createUpdateTicker(
  server: Server,
  state: SessionFeatureState,
  listener: StandaloneListener,
  intervalMs: number,
): UpdateTicker {
  return createPeriodicTask(
    listener,
    intervalMs,
    () => hasReportedSubscription(state),
    () => {
      for (const uri of state.subscriptions) {
        if (!isReported(state, uri)) continue;
        // Not tied to a request: goes to the standalone stream. A closed transport is not our error to raise.
        server.notification({ method: 'notifications/resources/updated', params: { uri } }).catch(() => {});
      }
    },
  );
}

/**
 * resources/subscribe and resources/unsubscribe. Each subscription also counts
 * in the instance's budget (per user, per instance; updates cost every tick),
 * from when it is taken (or the session rebuilt here) until it is dropped or
 * the session ends. Returns the function that gives every one back.
 */
export function registerSubscriptionHandlers(
  server: Server,
  state: SessionFeatureState,
  onSubscriptionsChanged: () => void,
  budget?: SubscriptionBudget,
): () => void {
  const held = new Map<string, () => void>();
  if (budget) for (const uri of state.subscriptions) held.set(uri, budget.hold());

  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    if (!findResource(uri)) throw invalidParams(`Cannot subscribe to unknown resource: ${shorten(uri)}`);
    if (!state.subscriptions.has(uri)) {
      if (state.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SESSION) {
        throw invalidParams(`Too many subscriptions (at most ${MAX_SUBSCRIPTIONS_PER_SESSION} per session)`);
      }
      if (budget) {
        try {
          held.set(uri, budget.admit());
        } catch (error) {
          throw error instanceof LimitExceeded ? error.toMcpError() : error;
        }
      }
      state.subscriptions.add(uri);
      onSubscriptionsChanged();
    }
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    if (state.subscriptions.delete(request.params.uri)) {
      held.get(request.params.uri)?.();
      held.delete(request.params.uri);
      onSubscriptionsChanged();
    }
    return {};
  });

  return () => {
    for (const release of held.values()) release();
    held.clear();
  };
}
