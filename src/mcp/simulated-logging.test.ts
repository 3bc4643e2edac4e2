import { jest } from '@jest/globals';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, ManualListener, sentNotifications } from '../../test/support/in-memory-session.js';
import { initialFeatureState } from './session-features.js';
import { createSimulatedLogger, SIMULATED_LOGGER_NAME } from './simulated-logging.js';

function fakeServer() {
  const notification = jest.fn((_message: unknown) => Promise.resolve());
  return { server: { notification } as unknown as Server, notification };
}

describe('createSimulatedLogger', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('holds no timer while switched off, even with a listener', () => {
    const { server, notification } = fakeServer();
    const listener = new ManualListener(true);
    const logger = createSimulatedLogger(server, initialFeatureState(), listener, 1000);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(notification).not.toHaveBeenCalled();
    logger.dispose();
  });

  it('runs only while switched on and a client listens on the standalone stream', () => {
    const { server, notification } = fakeServer();
    const state = initialFeatureState();
    const listener = new ManualListener(false);
    const logger = createSimulatedLogger(server, state, listener, 1000, () => 0.2);

    state.simulatedLogging = true;
    logger.refresh();
    expect(jest.getTimerCount()).toBe(0); // on, but nobody listens

    listener.set(true);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(3000);
    expect(notification).toHaveBeenCalledTimes(3);
    // random 0.2 of 8 levels: index 1, "info".
    expect(notification.mock.calls[0]![0]).toEqual({
      method: 'notifications/message',
      params: { level: 'info', logger: SIMULATED_LOGGER_NAME, data: 'Simulated info message from the everything server' },
    });

    listener.set(false);
    expect(jest.getTimerCount()).toBe(0);
    listener.set(true);
    delete state.simulatedLogging;
    logger.refresh();
    expect(jest.getTimerCount()).toBe(0);
    logger.dispose();
  });

  it('skips messages below the session log level', () => {
    const { server, notification } = fakeServer();
    const state = initialFeatureState();
    state.simulatedLogging = true;
    state.logLevel = 'error';
    const randoms = [0, 0.99]; // debug, then emergency
    const logger = createSimulatedLogger(server, state, new ManualListener(true), 1000, () => randoms.shift() ?? 0);
    jest.advanceTimersByTime(2000);
    expect(notification).toHaveBeenCalledTimes(1);
    expect(notification.mock.calls[0]![0]).toMatchObject({ params: { level: 'emergency' } });
    logger.dispose();
  });

  it('starts at once for a session rebuilt with the switch on, and stops for good on dispose', () => {
    const { server } = fakeServer();
    const state = { ...initialFeatureState(), simulatedLogging: true };
    const listener = new ManualListener(true);
    const logger = createSimulatedLogger(server, state, listener, 1000);
    expect(jest.getTimerCount()).toBe(1);
    logger.dispose();
    expect(jest.getTimerCount()).toBe(0);
    listener.set(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('toggle-simulated-logging through a session', () => {
  it('sends messages on the standalone stream while on and none after it is switched off', async () => {
    const session = await connectInMemory({ listenerOpen: true, updateIntervalMs: 20 });
    try {
      const received: string[] = [];
      session.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        if (n.params.logger === SIMULATED_LOGGER_NAME) received.push(n.params.level);
      });
      await session.client.callTool({ name: 'toggle-simulated-logging', arguments: { enabled: true } });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(received.length).toBeGreaterThanOrEqual(2);
      const simulated = sentNotifications(session.sent, 'notifications/message').filter(
        ({ message }) => 'params' in message && message.params?.logger === SIMULATED_LOGGER_NAME,
      );
      expect(simulated.every(({ relatedRequestId }) => relatedRequestId === undefined)).toBe(true);

      await session.client.callTool({ name: 'toggle-simulated-logging', arguments: { enabled: false } });
      await new Promise((resolve) => setTimeout(resolve, 30));
      const atStop = received.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toHaveLength(atStop);
    } finally {
      await session.close();
    }
  });
});
