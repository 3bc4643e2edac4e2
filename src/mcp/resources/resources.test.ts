import {
  ErrorCode,
  ResourceUpdatedNotificationSchema,
  type BlobResourceContents,
  type TextResourceContents,
} from '@modelcontextprotocol/sdk/types.js';
import { RESOURCE_ICONS } from '../icons.js';
import { expectMcpError } from '../../../test/support/mcp-errors.js';
import { connectInMemory } from '../../../test/support/in-memory-session.js';
import { encodeCursor } from './pagination.js';

const UPDATE_INTERVAL_MS = 20;

/** An in-memory session that also records the URIs of resources/updated notifications. */
async function connect() {
  const session = await connectInMemory({ updateIntervalMs: UPDATE_INTERVAL_MS });
  const updates: string[] = [];
  session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    updates.push(notification.params.uri);
  });
  return { ...session, updates };
}

type Session = Awaited<ReturnType<typeof connect>>;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('static resources', () => {
  let session: Session;
  beforeEach(async () => {
    session = await connect();
  });
  afterEach(async () => session.close());

  it('lists all 100 resources in 10 pages of 10, without duplicates', async () => {
    const uris: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await session.client.listResources(cursor === undefined ? {} : { cursor });
      expect(page.resources).toHaveLength(10);
      uris.push(...page.resources.map((resource) => resource.uri));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 20);

    expect(pages).toBe(10);
    expect(new Set(uris).size).toBe(100);
    expect(uris).toEqual(Array.from({ length: 100 }, (_, index) => `test://static/resource/${index + 1}`));
  });

  it('describes each listed resource by name and MIME type', async () => {
    const { resources } = await session.client.listResources();
    expect(resources[0]).toEqual({
      uri: 'test://static/resource/1',
      name: 'Resource 1',
      mimeType: 'text/plain',
      icons: RESOURCE_ICONS,
    });
    expect(resources[1]).toEqual({
      uri: 'test://static/resource/2',
      name: 'Resource 2',
      mimeType: 'application/octet-stream',
      icons: RESOURCE_ICONS,
    });
  });

  it.each(['not-a-cursor', encodeCursor(100), encodeCursor(5), encodeCursor(-10), 'MTA=', '%%%'])(
    'rejects the cursor %p with InvalidParams',
    async (cursor) => {
      await expectMcpError(session.client.listResources({ cursor }), ErrorCode.InvalidParams);
    },
  );

  it('reads odd ids as text and even ids as base64 blobs', async () => {
    const odd = await session.client.readResource({ uri: 'test://static/resource/7' });
    expect(odd.contents).toEqual([
      { uri: 'test://static/resource/7', mimeType: 'text/plain', text: 'Resource 7: This is a plaintext resource' },
    ]);
    expect((odd.contents[0] as TextResourceContents).text).toBeDefined();

    const even = await session.client.readResource({ uri: 'test://static/resource/100' });
    const [blob] = even.contents as BlobResourceContents[];
    expect(blob).toMatchObject({ uri: 'test://static/resource/100', mimeType: 'application/octet-stream' });
    expect(blob).not.toHaveProperty('text');
    expect(Buffer.from(blob!.blob, 'base64').toString()).toBe('Resource 100: This is a base64 blob');
  });

  it.each(['test://static/resource/0', 'test://static/resource/101', 'test://static/resource/01', 'file:///etc/passwd'])(
    'answers %p with -32002 Resource not found',
    async (uri) => {
      const error = await expectMcpError(session.client.readResource({ uri }), -32002);
      expect(error.message).toContain('Resource not found');
    },
  );

  it('lists the static resource template first, then the conformance template', async () => {
    const { resourceTemplates } = await session.client.listResourceTemplates();
    expect(resourceTemplates).toEqual([
      {
        uriTemplate: 'test://static/resource/{id}',
        name: 'Static Resource',
        description: 'A static resource with a numeric ID',
        icons: RESOURCE_ICONS,
      },
      expect.objectContaining({ uriTemplate: 'test://template/{id}/data', mimeType: 'application/json' }),
    ]);
  });
});

describe('resource subscriptions', () => {
  let session: Session;
  beforeEach(async () => {
    session = await connect();
  });
  afterEach(async () => session.close());

  it('records subscriptions in the session state and reports the change', async () => {
    await session.client.subscribeResource({ uri: 'test://static/resource/1' });
    await session.client.subscribeResource({ uri: 'test://static/resource/1' });
    expect([...session.state.subscriptions]).toEqual(['test://static/resource/1']);
    expect(session.stateChanges).toHaveLength(1);

    await session.client.unsubscribeResource({ uri: 'test://static/resource/1' });
    expect(session.state.subscriptions.size).toBe(0);
    expect(session.stateChanges).toHaveLength(2);
  });

  it('refuses to subscribe to an unknown resource', async () => {
    await expectMcpError(session.client.subscribeResource({ uri: 'test://static/resource/999' }), ErrorCode.InvalidParams);
    expect(session.state.subscriptions.size).toBe(0);
    expect(session.stateChanges).toHaveLength(0);
  });

  it('accepts a subscription to every one of the 100 resources', async () => {
    for (let id = 1; id <= 100; id++) await session.client.subscribeResource({ uri: `test://static/resource/${id}` });
    expect(session.state.subscriptions.size).toBe(100);
  });

  it('sends updates only while subscribed and while the standalone stream is open', async () => {
    await session.client.subscribeResource({ uri: 'test://static/resource/2' });
    await wait(UPDATE_INTERVAL_MS * 4);
    expect(session.updates).toHaveLength(0); // nobody listens yet

    session.listener.set(true);
    await wait(UPDATE_INTERVAL_MS * 5);
    expect(session.updates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(session.updates)).toEqual(new Set(['test://static/resource/2']));

    session.listener.set(false);
    await wait(UPDATE_INTERVAL_MS); // let a tick already in flight land
    const whileClosed = session.updates.length;
    await wait(UPDATE_INTERVAL_MS * 4);
    expect(session.updates).toHaveLength(whileClosed);
  });

  it('stops updates after the last unsubscribe', async () => {
    session.listener.set(true);
    await session.client.subscribeResource({ uri: 'test://static/resource/3' });
    await wait(UPDATE_INTERVAL_MS * 4);
    expect(session.updates.length).toBeGreaterThanOrEqual(1);

    await session.client.unsubscribeResource({ uri: 'test://static/resource/3' });
    await wait(UPDATE_INTERVAL_MS);
    const afterUnsubscribe = session.updates.length;
    await wait(UPDATE_INTERVAL_MS * 4);
    expect(session.updates).toHaveLength(afterUnsubscribe);
  });
});
