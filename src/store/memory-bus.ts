import type { BusListener, MessageBus } from './bus.js';

/**
 * The embedded mode's bus: same semantics as Redis pub/sub within one process.
 * Delivery is deferred to a microtask so that publishers never re-enter their
 * subscribers synchronously, as with a real broker.
 */
export class MemoryBus implements MessageBus {
  private readonly channelListeners = new Map<string, Set<BusListener>>();

  async publish(channel: string, message: string): Promise<number> {
    const targets: BusListener[] = [...(this.channelListeners.get(channel) ?? [])];
    if (targets.length > 0) {
      queueMicrotask(() => {
        for (const listener of targets) listener(message, channel);
      });
    }
    return targets.length;
  }

  async subscribe(channels: string[], listener: BusListener): Promise<void> {
    for (const channel of channels) add(this.channelListeners, channel, listener);
  }

  async unsubscribe(channels: string[], listener: BusListener): Promise<void> {
    for (const channel of channels) remove(this.channelListeners, channel, listener);
  }

  subscriptionCount(): number {
    return this.channelListeners.size;
  }

  watchSubscriber(): void {
    // Nothing to do: subscriptions in this process are never lost.
  }
}

function add(map: Map<string, Set<BusListener>>, key: string, listener: BusListener): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(listener);
}

function remove(map: Map<string, Set<BusListener>>, key: string, listener: BusListener): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(listener);
  if (set.size === 0) map.delete(key);
}
