import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema, type Root } from '@modelcontextprotocol/sdk/types.js';
import { shorten } from './errors.js';
import { sendLog } from './logging.js';
import type { SessionFeatureState, StandaloneListener } from './session-features.js';

export const ROOTS_LOGGER_NAME = 'roots';

/** At most this many roots are shown; a client may send any number. */
export const MAX_SHOWN_ROOTS = 100;

/** How long the server waits for the client's roots/list answer after roots/list_changed. */
export const ROOTS_REFRESH_TIMEOUT_MS = 10_000;

/** A readable list of roots, bounded in count and in the length of each URI and name. */
export function describeRoots(roots: readonly Root[]): string {
  if (roots.length === 0) return 'The client has no roots.';
  const shown = roots.slice(0, MAX_SHOWN_ROOTS).map((root, index) => {
    const name = root.name ? ` (${shorten(root.name)})` : '';
    return `${index + 1}. ${shorten(root.uri)}${name}`;
  });
  const more = roots.length > shown.length ? `\n… and ${roots.length - shown.length} more` : '';
  return `The client has ${roots.length} root(s):\n${shown.join('\n')}${more}`;
}

/**
 * notifications/roots/list_changed: the server asks for the new roots (on the
 * standalone stream, so only while the client listens there) and reports
 * them in a log message. One refresh at a time; notifications arriving during
 * one are folded into it.
 */
export function registerRootsHandlers(server: Server, state: SessionFeatureState, listener: StandaloneListener): void {
  let refreshing = false;
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    const log = (level: 'info' | 'warning', text: string) =>
      sendLog(server, state, level, text, ROOTS_LOGGER_NAME).catch(() => {});
    if (!server.getClientCapabilities()?.roots || !listener.isOpen()) {
      await log('info', 'The client reported that its roots changed; call get-roots-list to read them.');
      return;
    }
    if (refreshing) return;
    refreshing = true;
    try {
      const { roots } = await server.listRoots(undefined, { timeout: ROOTS_REFRESH_TIMEOUT_MS });
      await log('info', `Roots changed. ${describeRoots(roots)}`);
    } catch (error) {
      await log('warning', `Roots changed, but reading them failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      refreshing = false;
    }
  });
}
