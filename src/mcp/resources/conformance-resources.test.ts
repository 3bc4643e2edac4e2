import { jest } from '@jest/globals';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  McpError,
  ResourceUpdatedNotificationSchema,
  type BlobResourceContents,
  type TextResourceContents,
} from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, ManualListener, type InMemorySession } from '../../../test/support/in-memory-session.js';
import { initialFeatureState } from '../session-features.js';
import { TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { findConformanceResource, WATCHED_RESOURCE_URI } from './conformance-resources.js';
import { createUpdateTicker } from './subscriptions.js';

let session: InMemorySession;
afterEach(async () => session?.close());

async function rejection(promise: Promise<unknown>): Promise<McpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(McpError);
  return error as McpError;
}

describe('conformance fixture resources (set C)', () => {
  beforeEach(async () => {
    session = await connectInMemory();
  });

  it('test://static-text reads as fixed text', async () => {
    const { contents } = await session.client.readResource({ uri: 'test://static-text' });
    expect(contents).toEqual([
      { uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
    ]);
  });

  it('test://static-binary reads as a base64 PNG blob', async () => {
    const { contents } = await session.client.readResource({ uri: 'test://static-binary' });
    const [blob] = contents as BlobResourceContents[];
    expect(blob).toEqual({ uri: 'test://static-binary', mimeType: 'image/png', blob: TINY_IMAGE_PNG_BASE64 });
    expect(Buffer.from(blob!.blob, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  it('test://watched-resource tells when it was read', async () => {
    expect(findConformanceResource(WATCHED_RESOURCE_URI, () => new Date('2025-01-02T03:04:05.000Z'))).toEqual({
      uri: WATCHED_RESOURCE_URI,
      mimeType: 'text/plain',
      text: 'Watched resource content, read at 2025-01-02T03:04:05.000Z.',
    });
    const { contents } = await session.client.readResource({ uri: WATCHED_RESOURCE_URI });
    expect((contents[0] as TextResourceContents).text).toMatch(/^Watched resource content, read at \d{4}-/);
  });

  it('the template test://template/{id}/data substitutes the id', async () => {
    const { contents } = await session.client.readResource({ uri: 'test://template/123/data' });
    expect(contents).toHaveLength(1);
    const [content] = contents as TextResourceContents[];
    expect(content).toMatchObject({ uri: 'test://template/123/data', mimeType: 'application/json' });
    expect(JSON.parse(content!.text)).toEqual({ id: '123', templateTest: true, data: 'Data for ID: 123' });
  });

  it.each(['test://template//data', 'test://template/a/b/data', `test://template/${'x'.repeat(65)}/data`, 'test://template/%2F/data', 'test://static-text/'])(
    'answers %p with -32002 Resource not found',
    async (uri) => {
      const error = await rejection(session.client.readResource({ uri }));
      expect(error.code).toBe(-32002);
    },
  );

  it('lists the template with a description, and keeps the fixtures out of resources/list', async () => {
    const { resourceTemplates } = await session.client.listResourceTemplates();
    expect(resourceTemplates.find((template) => template.uriTemplate === 'test://template/{id}/data')).toMatchObject({
      name: 'template',
      description: expect.any(String),
    });
    const { resources } = await session.client.listResources();
    expect(resources.map((resource) => resource.uri)).not.toContain('test://static-text');
  });

  it('accepts subscriptions to the fixtures, the watched resource and template instances', async () => {
    for (const uri of ['test://watched-resource', 'test://static-text', 'test://template/7/data']) {
      await session.client.subscribeResource({ uri });
    }
    expect([...session.state.subscriptions]).toEqual(['test://watched-resource', 'test://static-text', 'test://template/7/data']);
    await session.client.unsubscribeResource({ uri: 'test://watched-resource' });
    expect(session.state.subscriptions.has('test://watched-resource')).toBe(false);
    const error = await rejection(session.client.subscribeResource({ uri: 'test://nothing-here' }));
    expect(error.code).toBe(ErrorCode.InvalidParams);
  });
});

describe('toggle-subscriber-updates', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function fakeServer() {
    const notification = jest.fn((_message: unknown) => Promise.resolve());
    return { server: { notification } as unknown as Server, notification };
  }

  it('a fixture subscription alone starts no timer; switching updates on reports every subscription', () => {
    const { server, notification } = fakeServer();
    const state = initialFeatureState();
    const listener = new ManualListener(true);
    const ticker = createUpdateTicker(server, state, listener, 1000);

    state.subscriptions.add(WATCHED_RESOURCE_URI);
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(0);

    state.subscriberUpdates = true;
    state.subscriptions.add('test://static/resource/3');
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(notification.mock.calls.map(([message]) => message)).toEqual([
      { method: 'notifications/resources/updated', params: { uri: WATCHED_RESOURCE_URI } },
      { method: 'notifications/resources/updated', params: { uri: 'test://static/resource/3' } },
    ]);

    // Switched off: the static resource keeps its updates (upstream contract), the fixture does not.
    delete state.subscriberUpdates;
    ticker.refresh();
    notification.mockClear();
    jest.advanceTimersByTime(1000);
    expect(notification.mock.calls.map(([message]) => message)).toEqual([
      { method: 'notifications/resources/updated', params: { uri: 'test://static/resource/3' } },
    ]);

    state.subscriptions.delete('test://static/resource/3');
    ticker.refresh();
    expect(jest.getTimerCount()).toBe(0);
    ticker.dispose();
  });

  it('switched on through the tool: the watched resource is reported to its subscriber on the standalone stream', async () => {
    jest.useRealTimers();
    session = await connectInMemory({ listenerOpen: true, updateIntervalMs: 20 });
    const updates: string[] = [];
    session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await session.client.subscribeResource({ uri: WATCHED_RESOURCE_URI });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(updates).toHaveLength(0);

    await session.client.callTool({ name: 'toggle-subscriber-updates', arguments: { enabled: true } });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(updates)).toEqual(new Set([WATCHED_RESOURCE_URI]));

    await session.client.callTool({ name: 'toggle-subscriber-updates', arguments: { enabled: false } });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const atStop = updates.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toHaveLength(atStop);
  });
});
