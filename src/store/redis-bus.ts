import type { BusListener, MessageBus, SubscriberWatcher } from './bus.js';
import { isShardedChannel } from '../protocol/channels.js';
import type { RedisClient, RedisConnections, RedisNodeClient } from './redis-connections.js';

/** Channels with a hash tag (a session's, an instance's liveness) are sharded (SSUBSCRIBE, in its slot's shard); the others are classic. */
type Kind = 'channel' | 'sharded';

const kindOf = (channel: string): Kind => (isShardedChannel(channel) ? 'sharded' : 'channel');

/** One channel subscribed in Redis, with every local listener on it. */
interface Subscription {
  /** Replaced only when a new subscription takes over one whose release failed. */
  listeners: Set<BusListener>;
  /** What node-redis calls for it (one function per subscription, so node-redis can release it). */
  dispatch: BusListener;
  /** Settles once Redis confirmed the subscription. */
  ready: Promise<void>;
}

/**
 * Pub/sub over the shared subscriber connection. A session's channels (named
 * with its hash tag) use sharded pub/sub, SPUBLISH and SSUBSCRIBE: on a Redis
 * Cluster they stay on the shard that holds the session's keys instead of
 * being broadcast to every node, and a receiver count is the shard's own.
 * Global, low-rate channels stay classic. Each channel is
 * subscribed in Redis once, however many local listeners it has, and released
 * when the last listener leaves; so the count of Redis subscriptions always
 * equals the count of things someone here is waiting for.
 *
 * subscribe() resolves only once Redis confirmed the subscription, for every
 * listener (a caller publishes right after and expects to hear the answer). A
 * key subscribed again while its release is still on the wire waits for that
 * release and subscribes afresh: taking it as still subscribed would lose what
 * is published once Redis processed the UNSUBSCRIBE.
 *
 * An unsubscribe that fails while Redis is away is sent again once the connection
 * is back, or node-redis would quietly subscribe it again on reconnection; until
 * then the key counts as subscribed, and a new listener takes it back as is.
 */
export class RedisBus implements MessageBus {
  private readonly subscriptions: Record<Kind, Map<string, Subscription>> = { channel: new Map(), sharded: new Map() };
  /** Releases on the wire, by key. */
  private readonly releasing: Record<Kind, Map<string, Promise<void>>> = { channel: new Map(), sharded: new Map() };
  /** Keys whose release failed (Redis away): still subscribed in node-redis, with no listener. */
  private readonly pendingReleases: Record<Kind, Map<string, Subscription>> = { channel: new Map(), sharded: new Map() };

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly connectionEvents: RedisConnections['onConnectionEvents'],
  ) {
    connectionEvents({ lost: () => undefined, restored: () => void this.retryReleases() });
  }

  publish(channel: string, message: string): Promise<number> {
    return kindOf(channel) === 'sharded' ? this.publisher.sPublish(channel, message) : this.publisher.publish(channel, message);
  }

  async subscribe(channels: string[], listener: BusListener): Promise<void> {
    const joined = await Promise.allSettled(channels.map((channel) => this.join(kindOf(channel), channel, listener)));
    const failed = joined.find((result) => result.status === 'rejected');
    if (!failed) return;
    // All or nothing: release the ones that worked.
    await this.unsubscribe(channels.filter((_, i) => joined[i]!.status === 'fulfilled'), listener).catch(() => undefined);
    throw failed.reason;
  }

  async unsubscribe(channels: string[], listener: BusListener): Promise<void> {
    await Promise.all(channels.map((channel) => this.leave(kindOf(channel), channel, listener)));
  }

  subscriptionCount(): number {
    return this.subscriptions.channel.size + this.subscriptions.sharded.size;
  }

  watchSubscriber(watcher: SubscriberWatcher): void {
    this.connectionEvents(watcher);
  }

  private async join(kind: Kind, key: string, listener: BusListener): Promise<void> {
    let subscription = this.subscriptions[kind].get(key);
    if (!subscription) {
      subscription = this.start(kind, key);
      this.subscriptions[kind].set(key, subscription);
    }
    subscription.listeners.add(listener);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.listeners.delete(listener);
      if (subscription.listeners.size === 0 && this.subscriptions[kind].get(key) === subscription) this.subscriptions[kind].delete(key);
      throw error;
    }
  }

  private start(kind: Kind, key: string): Subscription {
    const kept = this.pendingReleases[kind].get(key);
    if (kept) {
      // Its release failed, so node-redis still holds it (and restores it on reconnection).
      this.pendingReleases[kind].delete(key);
      kept.ready = Promise.resolve();
      return kept;
    }
    const subscription = { listeners: new Set<BusListener>() } as Subscription;
    subscription.dispatch = (message, channel) => {
      for (const listener of subscription.listeners) listener(message, channel);
    };
    const release = this.releasing[kind].get(key);
    subscription.ready = (async () => {
      if (release) {
        await release;
        const failed = this.pendingReleases[kind].get(key);
        if (failed) {
          // The release failed (Redis away): node-redis still holds the key under the old
          // dispatcher and restores it on reconnection. Take it over; a fresh SUBSCRIBE would
          // be undone by the retried UNSUBSCRIBE.
          this.pendingReleases[kind].delete(key);
          failed.listeners = subscription.listeners;
          subscription.dispatch = failed.dispatch;
          return;
        }
      }
      if (kind === 'channel') await this.subscriber.subscribe(key, subscription.dispatch);
      else await this.subscriber.sSubscribe(key, subscription.dispatch);
    })();
    return subscription;
  }

  /**
   * The last listener leaves once Redis confirmed the unsubscribe: until then
   * messages keep reaching it (a message published in between was counted as
   * delivered, so it must not be dropped).
   */
  private async leave(kind: Kind, key: string, listener: BusListener): Promise<void> {
    const subscription = this.subscriptions[kind].get(key);
    if (!subscription?.listeners.has(listener)) return;
    if (subscription.listeners.size > 1) {
      subscription.listeners.delete(listener);
      return;
    }
    this.subscriptions[kind].delete(key);
    try {
      await this.release(kind, key, subscription);
    } finally {
      subscription.listeners.delete(listener);
    }
  }

  /**
   * Unsubscribes in Redis once the subscription settled. Registered at once, so
   * that a key subscribed again from now on waits for it (see start): Redis must
   * see the UNSUBSCRIBE before the new SUBSCRIBE.
   */
  private async release(kind: Kind, key: string, subscription: Subscription): Promise<void> {
    const previous = this.releasing[kind].get(key);
    const releasing = (async () => {
      if (previous) await previous;
      try {
        await subscription.ready;
      } catch {
        return; // a failed subscription left nothing in Redis to release
      }
      try {
        // (The listener type differs in name only between a node's client and a cluster's.)
        const dispatch = subscription.dispatch as Parameters<RedisNodeClient['unsubscribe']>[1];
        if (kind === 'channel') await this.subscriber.unsubscribe(key, dispatch);
        else await this.subscriber.sUnsubscribe(key, dispatch);
      } catch {
        this.pendingReleases[kind].set(key, subscription);
      }
    })();
    this.releasing[kind].set(key, releasing);
    try {
      await releasing;
    } finally {
      if (this.releasing[kind].get(key) === releasing) this.releasing[kind].delete(key);
    }
  }

  private async retryReleases(): Promise<void> {
    for (const kind of ['channel', 'sharded'] as const) {
      for (const [key, subscription] of [...this.pendingReleases[kind]]) {
        // Taken back by a listener since (start() removes it from the pending ones).
        if (this.pendingReleases[kind].get(key) !== subscription) continue;
        this.pendingReleases[kind].delete(key);
        // A failure puts it back: the next 'ready' tries again.
        await this.release(kind, key, subscription);
      }
    }
  }
}
