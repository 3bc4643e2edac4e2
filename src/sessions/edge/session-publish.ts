import { channels } from '../../protocol/channels.js';
import type { Runtime } from '../../runtime.js';

export type Delivery = { outcome: 'delivered'; instanceId: string | undefined } | { outcome: 'gone' } | { outcome: 'unavailable' };

/** How often a message is published again while another instance takes its session over. */
const RETRIES = [50, 100, 200, 400, 800];

/**
 * Publishes client messages to a session, in order. When one reaches nobody —
 * the instance running the session died, evicted it or shut down — the session
 * is taken over (here, or by whichever instance wins) and the message published
 * again. `instanceId` is who runs the session when that changed, else undefined.
 */
export async function publishToSession(rt: Runtime, sessionId: string, userId: string, payloads: string[]): Promise<Delivery> {
  let instanceId: string | undefined;
  for (const payload of payloads) {
    let attempt = 0;
    let justActivated = false;
    while ((await rt.backend.bus.publish(channels.toServer(sessionId), payload)) === 0) {
      const activation = justActivated ? { outcome: 'busy' as const } : await rt.host.activate(sessionId, userId);
      if (activation.outcome === 'gone') return { outcome: 'gone' };
      if (activation.outcome === 'running') {
        // Taken over here: publish again at once (once; a second miss waits like the others).
        instanceId = activation.instanceId;
        justActivated = true;
        continue;
      }
      justActivated = false;
      const pause = RETRIES[attempt++];
      if (pause === undefined) return { outcome: 'unavailable' };
      await new Promise((resolve) => setTimeout(resolve, pause));
      instanceId = (await rt.directory.instanceOf(sessionId)) ?? undefined;
    }
  }
  return { outcome: 'delivered', instanceId };
}
