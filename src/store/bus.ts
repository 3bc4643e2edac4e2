/** Receives a published message and the channel it came on. */
export type BusListener = (message: string, channel: string) => void;

export interface SubscriberWatcher {
  lost(): void;
  restored(): void;
}

/**
 * Publish/subscribe between instances. Implementations: Redis (shared by all
 * instances; a session's channels sharded) and in-memory (the embedded
 * single-process mode). Subscriptions are per listener: a channel stays
 * subscribed while any listener remains on it. No patterns: a pattern cannot
 * follow sharded channels, so every listener names its channels.
 */
export interface MessageBus {
  /** Resolves to the number of subscribers that received it (this process's view on Redis). */
  publish(channel: string, message: string): Promise<number>;
  subscribe(channels: string[], listener: BusListener): Promise<void>;
  unsubscribe(channels: string[], listener: BusListener): Promise<void>;
  /** Channels this process is subscribed to right now. */
  subscriptionCount(): number;
  /**
   * Tells when the subscriber connection is lost, and when it is back with every
   * subscription confirmed again by Redis. What was published in between was not
   * delivered: listeners that cannot lose messages read it from the store. The
   * in-memory bus never loses its subscriber, so never calls them.
   */
  watchSubscriber(watcher: SubscriberWatcher): void;
}
