import type { BusListener, MessageBus } from './bus.js';
import type { RedisClient } from './redis-connections.js';

/**
 * Pub/sub over the shared subscriber connection. Each channel or pattern is
 * subscribed in Redis once, however many local listeners it has, and released
 * when the last listener leaves; so the count of Redis subscriptions always
 * equals the count of things someone here is waiting for.
 */
export class RedisBus implements MessageBus {
  private readonly channelListeners = new Map<string, Set<BusListener>>();
  private readonly patternListeners = new Map<string, Set<BusListener>>();
  /** One dispatcher per pattern: Redis says which pattern matched, so no message scans them all. */
  private readonly patternDispatchers = new Map<string, BusListener>();

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
  ) {}

  publish(channel: string, message: string): Promise<number> {
    return this.publisher.publish(channel, message);
  }

  async subscribe(channels: string[], listener: BusListener): Promise<void> {
    const fresh = channels.filter((channel) => addListener(this.channelListeners, channel, listener));
    if (fresh.length > 0) {
      try {
        await this.subscriber.subscribe(fresh, this.dispatchChannel);
      } catch (error) {
        for (const channel of fresh) removeListener(this.channelListeners, channel, listener);
        throw error;
      }
    }
  }

  async unsubscribe(channels: string[], listener: BusListener): Promise<void> {
    const gone = channels.filter((channel) => removeListener(this.channelListeners, channel, listener));
    if (gone.length > 0) await this.subscriber.unsubscribe(gone, this.dispatchChannel).catch(() => undefined);
  }

  async pSubscribe(pattern: string, listener: BusListener): Promise<void> {
    if (addListener(this.patternListeners, pattern, listener)) {
      const dispatch: BusListener = (message, channel) => {
        for (const each of this.patternListeners.get(pattern) ?? []) each(message, channel);
      };
      this.patternDispatchers.set(pattern, dispatch);
      try {
        await this.subscriber.pSubscribe(pattern, dispatch);
      } catch (error) {
        removeListener(this.patternListeners, pattern, listener);
        this.patternDispatchers.delete(pattern);
        throw error;
      }
    }
  }

  async pUnsubscribe(pattern: string, listener: BusListener): Promise<void> {
    if (removeListener(this.patternListeners, pattern, listener)) {
      const dispatch = this.patternDispatchers.get(pattern);
      this.patternDispatchers.delete(pattern);
      if (dispatch) await this.subscriber.pUnsubscribe(pattern, dispatch).catch(() => undefined);
    }
  }

  subscriptionCount(): number {
    return this.channelListeners.size + this.patternListeners.size;
  }

  private readonly dispatchChannel = (message: string, channel: string): void => {
    for (const listener of this.channelListeners.get(channel) ?? []) listener(message, channel);
  };

}

/** Returns true when this is the key's first listener (so Redis must subscribe). */
function addListener(map: Map<string, Set<BusListener>>, key: string, listener: BusListener): boolean {
  const set = map.get(key);
  if (set) {
    set.add(listener);
    return false;
  }
  map.set(key, new Set([listener]));
  return true;
}

/** Returns true when the key has no listener left (so Redis must unsubscribe). */
function removeListener(map: Map<string, Set<BusListener>>, key: string, listener: BusListener): boolean {
  const set = map.get(key);
  if (!set) return false;
  set.delete(listener);
  if (set.size > 0) return false;
  map.delete(key);
  return true;
}
