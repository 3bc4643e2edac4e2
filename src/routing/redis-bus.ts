import type { BusListener, MessageBus } from './bus.js';
import type { RedisClient } from './redis-connections.js';

type Kind = 'channel' | 'pattern';

/**
 * Pub/sub over the shared subscriber connection. Each channel or pattern is
 * subscribed in Redis once, however many local listeners it has, and released
 * when the last listener leaves; so the count of Redis subscriptions always
 * equals the count of things someone here is waiting for.
 *
 * A last listener leaves only once Redis confirmed the unsubscribe: until then
 * messages keep reaching it (a message published in between was counted as
 * delivered, so it must not be dropped). An unsubscribe that fails while Redis is
 * away is sent again once the connection is back, or node-redis would quietly
 * subscribe it again on reconnection.
 */
export class RedisBus implements MessageBus {
  private readonly listeners: Record<Kind, Map<string, Set<BusListener>>> = { channel: new Map(), pattern: new Map() };
  /** One dispatcher per pattern: Redis says which pattern matched, so no message scans them all. */
  private readonly patternDispatchers = new Map<string, BusListener>();
  private readonly pendingReleases: Record<Kind, Map<string, BusListener>> = { channel: new Map(), pattern: new Map() };

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
  ) {
    subscriber.on('ready', () => void this.retryReleases());
  }

  publish(channel: string, message: string): Promise<number> {
    return this.publisher.publish(channel, message);
  }

  async subscribe(channels: string[], listener: BusListener): Promise<void> {
    const fresh = channels.filter((channel) => this.add('channel', channel, listener));
    if (fresh.length === 0) return;
    try {
      await this.subscriber.subscribe(fresh, this.dispatchChannel);
    } catch (error) {
      for (const channel of fresh) this.listeners.channel.get(channel)?.delete(listener);
      for (const channel of fresh) if (this.listeners.channel.get(channel)?.size === 0) this.listeners.channel.delete(channel);
      throw error;
    }
  }

  async unsubscribe(channels: string[], listener: BusListener): Promise<void> {
    await Promise.all(channels.map((channel) => this.leave('channel', channel, listener)));
  }

  async pSubscribe(pattern: string, listener: BusListener): Promise<void> {
    if (!this.add('pattern', pattern, listener)) return;
    try {
      await this.subscriber.pSubscribe(pattern, this.dispatcherFor(pattern));
    } catch (error) {
      this.listeners.pattern.get(pattern)?.delete(listener);
      if (this.listeners.pattern.get(pattern)?.size === 0) this.listeners.pattern.delete(pattern);
      throw error;
    }
  }

  async pUnsubscribe(pattern: string, listener: BusListener): Promise<void> {
    await this.leave('pattern', pattern, listener);
  }

  subscriptionCount(): number {
    return this.listeners.channel.size + this.listeners.pattern.size;
  }

  /** Returns true when this is the key's first listener (so Redis must subscribe). */
  private add(kind: Kind, key: string, listener: BusListener): boolean {
    const set = this.listeners[kind].get(key);
    if (set) {
      set.add(listener);
      return false;
    }
    this.listeners[kind].set(key, new Set([listener]));
    return !this.claimPending(kind, key);
  }

  /** A key whose release is still pending is still subscribed in Redis: take it back as is. */
  private claimPending(kind: Kind, key: string): boolean {
    return this.pendingReleases[kind].delete(key);
  }

  private async leave(kind: Kind, key: string, listener: BusListener): Promise<void> {
    const set = this.listeners[kind].get(key);
    if (!set?.has(listener)) return;
    if (set.size > 1) {
      set.delete(listener);
      return;
    }
    const dispatch = kind === 'channel' ? this.dispatchChannel : this.dispatcherFor(key);
    try {
      if (kind === 'channel') await this.subscriber.unsubscribe(key, dispatch);
      else await this.subscriber.pUnsubscribe(key, dispatch);
    } catch {
      this.pendingReleases[kind].set(key, dispatch);
    }
    set.delete(listener);
    if (set.size > 0) {
      // Someone subscribed again while Redis was unsubscribing: subscribe for them.
      this.pendingReleases[kind].delete(key);
      if (kind === 'channel') await this.subscriber.subscribe(key, dispatch).catch(() => undefined);
      else await this.subscriber.pSubscribe(key, dispatch).catch(() => undefined);
      return;
    }
    this.listeners[kind].delete(key);
    if (kind === 'pattern' && !this.pendingReleases.pattern.has(key)) this.patternDispatchers.delete(key);
  }

  private async retryReleases(): Promise<void> {
    for (const kind of ['channel', 'pattern'] as const) {
      for (const [key, dispatch] of [...this.pendingReleases[kind]]) {
        if (this.listeners[kind].has(key)) {
          this.pendingReleases[kind].delete(key);
          continue;
        }
        try {
          if (kind === 'channel') await this.subscriber.unsubscribe(key, dispatch);
          else await this.subscriber.pUnsubscribe(key, dispatch);
          this.pendingReleases[kind].delete(key);
          if (kind === 'pattern') this.patternDispatchers.delete(key);
        } catch {
          // still away: the next 'ready' tries again
        }
      }
    }
  }

  private dispatcherFor(pattern: string): BusListener {
    let dispatch = this.patternDispatchers.get(pattern);
    if (!dispatch) {
      dispatch = (message, channel) => {
        for (const each of this.listeners.pattern.get(pattern) ?? []) each(message, channel);
      };
      this.patternDispatchers.set(pattern, dispatch);
    }
    return dispatch;
  }

  private readonly dispatchChannel = (message: string, channel: string): void => {
    for (const listener of this.listeners.channel.get(channel) ?? []) listener(message, channel);
  };
}
