/** Receives a published message and the channel it came on. */
export type BusListener = (message: string, channel: string) => void;

/**
 * Publish/subscribe between instances. Implementations: Redis (shared by all
 * instances) and in-memory (the embedded single-process mode). Subscriptions are
 * per listener: a channel stays subscribed while any listener remains on it.
 */
export interface MessageBus {
  /** Resolves to the number of subscribers that received it (this process's view on Redis). */
  publish(channel: string, message: string): Promise<number>;
  subscribe(channels: string[], listener: BusListener): Promise<void>;
  unsubscribe(channels: string[], listener: BusListener): Promise<void>;
  pSubscribe(pattern: string, listener: BusListener): Promise<void>;
  pUnsubscribe(pattern: string, listener: BusListener): Promise<void>;
  /** Channels and patterns this process is subscribed to right now. */
  subscriptionCount(): number;
  /**
   * Registers a callback for each time the subscriber connection came back and
   * Redis confirmed every subscription again. What was published in between was
   * not delivered: listeners that cannot lose messages read them from the store.
   * The in-memory bus never loses its subscriber, so never calls it.
   */
  onResubscribed(callback: () => void): void;
}
