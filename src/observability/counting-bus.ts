import type { BusListener, MessageBus } from '../store/bus.js';

/**
 * The instance's bus, counting what it publishes and receives (metrics). A
 * decorator rather than a counter in each implementation: one home, whichever
 * bus (Redis or in-memory) is underneath.
 */
export function countingBus(bus: MessageBus, count: (direction: 'published' | 'received') => void): MessageBus {
  // The same listener must map to the same wrapper, so that unsubscribing finds it.
  const wrapped = new WeakMap<BusListener, BusListener>();
  const wrap = (listener: BusListener): BusListener => {
    let counted = wrapped.get(listener);
    if (!counted) {
      counted = (message, channel) => {
        count('received');
        listener(message, channel);
      };
      wrapped.set(listener, counted);
    }
    return counted;
  };
  const counting: MessageBus & { inner: MessageBus } = {
    /** The bus underneath (white-box tests reach its connections). */
    inner: bus,
    publish: (channel, message) => {
      count('published');
      return bus.publish(channel, message);
    },
    subscribe: (channels, listener) => bus.subscribe(channels, wrap(listener)),
    unsubscribe: (channels, listener) => bus.unsubscribe(channels, wrap(listener)),
    subscriptionCount: () => bus.subscriptionCount(),
    watchSubscriber: (watcher) => bus.watchSubscriber(watcher),
  };
  return counting;
}
