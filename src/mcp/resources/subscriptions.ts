import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import type { SessionFeatureState, StandaloneListener } from '../session-features.js';
import { findStaticResource } from './static-resources.js';

/** How often a subscribed resource is reported as updated. */
export const RESOURCE_UPDATE_INTERVAL_MS = 10_000;

/** Bounds what one session can make the server remember. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 100;

export interface UpdateTicker {
  /** Starts or stops the timer to match the current subscriptions and listener. */
  refresh(): void;
  dispose(): void;
}

/**
 * Periodic `notifications/resources/updated` for subscribed URIs. The timer
 * exists only while there is a subscription and a client listening on the
 * standalone stream, so idle sessions cost no timer and publish nothing.
 */
export function createUpdateTicker(
  server: Server,
  state: SessionFeatureState,
  listener: StandaloneListener,
  intervalMs: number,
): UpdateTicker {
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;

  const shouldRun = () => !disposed && state.subscriptions.size > 0 && listener.isOpen();

  const publishUpdates = () => {
    if (!shouldRun()) {
      refresh();
      return;
    }
    for (const uri of state.subscriptions) {
      // Not tied to a request: goes to the standalone stream. A closed transport is not our error to raise.
      server.notification({ method: 'notifications/resources/updated', params: { uri } }).catch(() => {});
    }
  };

  function refresh(): void {
    if (shouldRun()) {
      if (!timer) {
        timer = setInterval(publishUpdates, intervalMs);
        timer.unref();
      }
    } else if (timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  listener.onChange(refresh);
  refresh();

  return {
    refresh,
    dispose() {
      disposed = true;
      refresh();
    },
  };
}

export function registerSubscriptionHandlers(
  server: Server,
  state: SessionFeatureState,
  onSubscriptionsChanged: () => void,
): void {
  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    if (!findStaticResource(uri)) throw invalidParams(`Cannot subscribe to unknown resource: ${shorten(uri)}`);
    if (!state.subscriptions.has(uri)) {
      if (state.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SESSION) {
        throw invalidParams(`Too many subscriptions (at most ${MAX_SUBSCRIPTIONS_PER_SESSION} per session)`);
      }
      state.subscriptions.add(uri);
      onSubscriptionsChanged();
    }
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    if (state.subscriptions.delete(request.params.uri)) onSubscriptionsChanged();
    return {};
  });
}
