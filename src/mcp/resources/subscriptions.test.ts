import { jest } from '@jest/globals';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ManualListener } from '../../../test/support/in-memory-session.js';
import { initialFeatureState } from '../session-features.js';
import { createUpdateTicker, RESOURCE_UPDATE_INTERVAL_MS } from './subscriptions.js';

function fakeServer() {
  const notification = jest.fn((_message: unknown) => Promise.resolve());
  return { server: { notification } as unknown as Server, notification };
}

describe('createUpdateTicker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('defaults to a 10 second period', () => {
    expect(RESOURCE_UPDATE_INTERVAL_MS).toBe(10_000);
  });

  it('runs a timer only while there is a subscription and an open listener', () => {
    const { server, notification } = fakeServer();
    const state = initialFeatureState();
    const listener = new ManualListener();
    const ticker = createUpdateTicker(server, state, listener, 1000);
    expect(jest.getTimerCount()).toBe(0);

    listener.set(true);
    expect(jest.getTimerCount()).toBe(0); // open but nothing subscribed

    state.subscriptions.add('test://static/resource/1');
    state.subscriptions.add('test://static/resource/2');
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(1);

    jest.advanceTimersByTime(1000);
    expect(notification.mock.calls.map(([message]) => message)).toEqual([
      { method: 'notifications/resources/updated', params: { uri: 'test://static/resource/1' } },
      { method: 'notifications/resources/updated', params: { uri: 'test://static/resource/2' } },
    ]);

    listener.set(false);
    expect(jest.getTimerCount()).toBe(0);
    listener.set(true);
    expect(jest.getTimerCount()).toBe(1);

    state.subscriptions.clear();
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(0);
    ticker.dispose();
  });

  it('starts at once for a session rebuilt with subscriptions while someone listens', () => {
    const { server } = fakeServer();
    const state = initialFeatureState();
    state.subscriptions.add('test://static/resource/5');
    const listener = new ManualListener();
    listener.set(true);
    const ticker = createUpdateTicker(server, state, listener, 1000);
    expect(jest.getTimerCount()).toBe(1);
    ticker.dispose();
  });

  it('stays stopped after dispose, whatever the listener does', () => {
    const { server, notification } = fakeServer();
    const state = initialFeatureState();
    state.subscriptions.add('test://static/resource/1');
    const listener = new ManualListener();
    const ticker = createUpdateTicker(server, state, listener, 1000);
    listener.set(true);
    expect(jest.getTimerCount()).toBe(1);

    ticker.dispose();
    expect(jest.getTimerCount()).toBe(0);
    listener.set(true);
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(notification).not.toHaveBeenCalled();
  });

  it('survives a transport that rejects the notification', async () => {
    const notification = jest.fn((_message: unknown) => Promise.reject(new Error('Not connected')));
    const state = initialFeatureState();
    state.subscriptions.add('test://static/resource/1');
    const listener = new ManualListener();
    listener.set(true);
    const ticker = createUpdateTicker({ notification } as unknown as Server, state, listener, 1000);
    jest.advanceTimersByTime(2000);
    await Promise.resolve();
    expect(notification).toHaveBeenCalledTimes(2);
    ticker.dispose();
  });
});
