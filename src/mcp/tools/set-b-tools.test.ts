import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  UrlElicitationRequiredError,
  type CallToolResult,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, sentNotifications, sentRequests, type InMemorySession } from '../../../test/support/in-memory-session.js';
import { TINY_AUDIO_WAV_BASE64 } from '../tiny-audio.js';
import { DEFAULT_ELICITATION_URL, MAX_PENDING_URL_ELICITATIONS } from './trigger-url-elicitation.js';

let session: InMemorySession;
afterEach(async () => session?.close());

async function call(name: string, args: Record<string, unknown> = {}, client: Client = session.client): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function texts(result: CallToolResult): string[] {
  return result.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('get-structured-content', () => {
  beforeEach(async () => {
    session = await connectInMemory();
  });

  it('declares an outputSchema and returns matching structuredContent plus the same data as text', async () => {
    const { tools } = await session.client.listTools();
    const tool = tools.find((candidate) => candidate.name === 'get-structured-content');
    expect(tool?.outputSchema).toMatchObject({
      type: 'object',
      properties: { location: {}, temperature: {}, conditions: {}, humidity: {} },
      required: ['location', 'temperature', 'conditions', 'humidity'],
    });
    // The SDK client validates structuredContent against the outputSchema it listed.
    const result = await call('get-structured-content', { location: 'Chicago' });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ location: 'Chicago', temperature: 18, conditions: 'Windy', humidity: 55 });
    expect(JSON.parse(texts(result)[0]!)).toEqual(result.structuredContent);
  });

  it('rejects an unknown location', async () => {
    const result = await call('get-structured-content', { location: 'Atlantis' });
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toContain('location');
  });
});

describe('get-resource-links', () => {
  beforeEach(async () => {
    session = await connectInMemory();
  });

  it('returns the requested number of resource_link blocks to readable resources', async () => {
    const result = await call('get-resource-links', { count: 4 });
    const links = result.content.filter((block) => block.type === 'resource_link');
    expect(links).toHaveLength(4);
    expect(links[0]).toMatchObject({ type: 'resource_link', uri: 'test://static/resource/1', name: 'Resource 1', mimeType: 'text/plain' });
    for (const link of links) {
      const { contents } = await session.client.readResource({ uri: (link as { uri: string }).uri });
      expect(contents).toHaveLength(1);
    }
  });

  it('defaults to three links', async () => {
    const result = await call('get-resource-links');
    expect(result.content.filter((block) => block.type === 'resource_link')).toHaveLength(3);
  });

  it.each([0, 11, 2.5])('rejects count %p', async (count) => {
    const result = await call('get-resource-links', { count });
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toContain('count');
  });
});

describe('get-tiny-audio', () => {
  it('returns WAV audio content between two texts', async () => {
    session = await connectInMemory();
    const result = await call('get-tiny-audio');
    expect(result.content.map((block) => block.type)).toEqual(['text', 'audio', 'text']);
    expect(result.content[1]).toEqual({ type: 'audio', data: TINY_AUDIO_WAV_BASE64, mimeType: 'audio/wav' });
  });
});

describe('get-roots-list', () => {
  it("asks the client on the call's stream and lists its roots", async () => {
    session = await connectInMemory({ capabilities: { roots: { listChanged: true } } });
    session.client.setRequestHandler(ListRootsRequestSchema, () => ({
      roots: [{ uri: 'file:///home/ada/project', name: 'Project' }, { uri: 'file:///tmp' }],
    }));
    const result = await call('get-roots-list');
    expect(result.isError).toBeFalsy();
    expect(texts(result)).toEqual(['The client has 2 root(s):\n1. file:///home/ada/project (Project)\n2. file:///tmp']);
    expect(sentRequests(session.sent, 'roots/list')[0]?.relatedRequestId).toBeDefined();
  });

  it('says so when the client has no roots', async () => {
    session = await connectInMemory({ capabilities: { roots: {} } });
    session.client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
    expect(texts(await call('get-roots-list'))).toEqual(['The client has no roots.']);
  });

  it('shows at most 100 roots and shortens long URIs', async () => {
    session = await connectInMemory({ capabilities: { roots: {} } });
    const roots = Array.from({ length: 150 }, (_, index) => ({ uri: `file:///r/${index}/${'x'.repeat(500)}` }));
    session.client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
    const [text] = texts(await call('get-roots-list'));
    expect(text).toContain('The client has 150 root(s):');
    expect(text).toContain('… and 50 more');
    expect(text!.length).toBeLessThan(150 * 120);
  });

  it('is an isError result, and sends nothing, for a client without the roots capability', async () => {
    session = await connectInMemory();
    const result = await call('get-roots-list');
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toContain('does not support roots');
    expect(sentRequests(session.sent, 'roots/list')).toHaveLength(0);
  });

  it('is an isError result when the client fails the request', async () => {
    session = await connectInMemory({ capabilities: { roots: {} } });
    session.client.setRequestHandler(ListRootsRequestSchema, () => {
      throw new McpError(ErrorCode.InternalError, 'roots unavailable');
    });
    const result = await call('get-roots-list');
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toMatch(/^Listing the roots failed: .*roots unavailable/);
  });
});

describe('trigger-url-elicitation', () => {
  it('sends a URL-mode elicitation and, once accepted, notifies its completion on the call', async () => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    const requests: ElicitRequest['params'][] = [];
    const completed: string[] = [];
    session.client.setRequestHandler(ElicitRequestSchema, (request) => {
      requests.push(request.params);
      return { action: 'accept' };
    });
    session.client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => void completed.push(n.params.elicitationId));

    const result = await call('trigger-url-elicitation', { url: 'https://example.com/connect', message: 'Connect your account' });

    expect(requests).toHaveLength(1);
    const params = requests[0] as { mode: string; url: string; message: string; elicitationId: string };
    expect(params).toMatchObject({ mode: 'url', url: 'https://example.com/connect', message: 'Connect your account' });
    expect(params.elicitationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(texts(result)).toEqual([`URL elicitation ${params.elicitationId} (https://example.com/connect): action=accept`]);
    expect(completed).toEqual([params.elicitationId]);
    expect(sentNotifications(session.sent, 'notifications/elicitation/complete')[0]?.relatedRequestId).toBeDefined();
  });

  it('does not announce completion when the user declines', async () => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    session.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
    const result = await call('trigger-url-elicitation');
    expect(texts(result)[0]).toMatch(/: action=decline$/);
    expect(texts(result)[0]).toContain(DEFAULT_ELICITATION_URL);
    expect(sentNotifications(session.sent, 'notifications/elicitation/complete')).toHaveLength(0);
  });

  it('errorPath: fails with -32042 listing one URL elicitation, then the retry succeeds once', async () => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    const args = { url: 'https://example.com/authorize', errorPath: true };

    const error = await rejection(call('trigger-url-elicitation', args));
    expect(error).toBeInstanceOf(UrlElicitationRequiredError);
    const required = error as UrlElicitationRequiredError;
    expect(required.code).toBe(-32042);
    expect(required.elicitations).toEqual([
      { mode: 'url', elicitationId: expect.any(String), url: 'https://example.com/authorize', message: 'Please open this page to continue.' },
    ]);
    expect(session.state.pendingUrlElicitations).toEqual([
      { url: 'https://example.com/authorize', elicitationId: required.elicitations[0]!.elicitationId },
    ]);
    expect(session.stateChanges.length).toBeGreaterThan(0);
    expect(sentRequests(session.sent, 'elicitation/create')).toHaveLength(0);

    const retry = await call('trigger-url-elicitation', args);
    expect(retry.isError).toBeFalsy();
    expect(texts(retry)[0]).toContain(required.elicitations[0]!.elicitationId);
    expect(session.state.pendingUrlElicitations).toBeUndefined();

    // The marker is used up: the next call asks again.
    expect(await rejection(call('trigger-url-elicitation', args))).toBeInstanceOf(UrlElicitationRequiredError);
  });

  it(`errorPath remembers at most ${MAX_PENDING_URL_ELICITATIONS} pending elicitations`, async () => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    for (let index = 0; index < MAX_PENDING_URL_ELICITATIONS + 5; index++) {
      await rejection(call('trigger-url-elicitation', { url: `https://example.com/${index}`, errorPath: true }));
    }
    expect(session.state.pendingUrlElicitations).toHaveLength(MAX_PENDING_URL_ELICITATIONS);
    expect(session.state.pendingUrlElicitations?.[0]?.url).toBe('https://example.com/5');
  });

  it.each([
    [{ elicitation: {} }],
    [{ elicitation: { form: {} } }],
    [{}],
  ])('is an isError result for a client without URL elicitation (%p)', async (capabilities) => {
    session = await connectInMemory({ capabilities });
    for (const errorPath of [false, true]) {
      const result = await call('trigger-url-elicitation', { errorPath });
      expect(result.isError).toBe(true);
      expect(texts(result)[0]).toContain('does not support URL elicitation');
    }
    expect(sentRequests(session.sent, 'elicitation/create')).toHaveLength(0);
  });

  it.each([
    [{ url: 'javascript:alert(1)' }],
    [{ url: 'file:///etc/passwd' }],
    [{ url: 'not a url' }],
    [{ url: `https://example.com/${'x'.repeat(2100)}` }],
    [{ message: '' }],
    [{ message: 'x'.repeat(1001) }],
    [{ errorPath: 'yes' }],
  ])('rejects invalid arguments (case %#)', async (args) => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    const result = await call('trigger-url-elicitation', args);
    expect(result.isError).toBe(true);
    expect(texts(result)[0]).toMatch(/^Invalid arguments for tool trigger-url-elicitation: /);
  });
});

describe('toggle-simulated-logging and toggle-subscriber-updates', () => {
  beforeEach(async () => {
    session = await connectInMemory();
  });

  it.each([
    ['toggle-simulated-logging', 'simulatedLogging'],
    ['toggle-subscriber-updates', 'subscriberUpdates'],
  ] as const)('%s flips, sets and clears its switch and reports the change', async (tool, key) => {
    expect(session.state[key]).toBeUndefined();
    expect(texts(await call(tool))[0]).toMatch(/ on for this session/);
    expect(session.state[key]).toBe(true);
    expect(texts(await call(tool))[0]).toMatch(/ off for this session/);
    expect(session.state).not.toHaveProperty(key);
    await call(tool, { enabled: true });
    await call(tool, { enabled: true });
    expect(session.state[key]).toBe(true);
    await call(tool, { enabled: false });
    expect(session.state).not.toHaveProperty(key);
    expect(session.stateChanges).toHaveLength(5);
  });

  it('rejects a non-boolean enabled', async () => {
    const result = await call('toggle-simulated-logging', { enabled: 'on' });
    expect(result.isError).toBe(true);
    expect(session.state.simulatedLogging).toBeUndefined();
  });
});

describe('toggle-dynamic-features', () => {
  beforeEach(async () => {
    session = await connectInMemory();
  });

  it('adds dynamic-tool and dynamic-prompt for this session only, announcing both list changes', async () => {
    const other = await connectInMemory();
    try {
      const toolChanges: number[] = [];
      const promptChanges: number[] = [];
      session.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void toolChanges.push(1));
      session.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void promptChanges.push(1));

      expect(texts(await call('toggle-dynamic-features'))[0]).toMatch(/^Added the tool dynamic-tool and the prompt dynamic-prompt/);
      const [toolsChanged] = sentNotifications(session.sent, 'notifications/tools/list_changed');
      const [promptsChanged] = sentNotifications(session.sent, 'notifications/prompts/list_changed');
      // Not tied to the call: they go to the standalone stream.
      expect(toolsChanged?.relatedRequestId).toBeUndefined();
      expect(promptsChanged?.relatedRequestId).toBeUndefined();
      expect(toolChanges).toEqual([1]);
      expect(promptChanges).toEqual([1]);

      expect((await session.client.listTools()).tools.map((tool) => tool.name)).toContain('dynamic-tool');
      expect((await session.client.listPrompts()).prompts.map((prompt) => prompt.name)).toContain('dynamic-prompt');
      expect(texts(await call('dynamic-tool'))[0]).toContain('Hello from dynamic-tool');
      expect((await session.client.getPrompt({ name: 'dynamic-prompt' })).messages).toHaveLength(1);

      // The other session is untouched.
      expect((await other.client.listTools()).tools.map((tool) => tool.name)).not.toContain('dynamic-tool');
      expect((await other.client.listPrompts()).prompts.map((prompt) => prompt.name)).not.toContain('dynamic-prompt');
      expect(sentNotifications(other.sent, 'notifications/tools/list_changed')).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('removes them again: calling the tool or getting the prompt is then InvalidParams', async () => {
    await call('toggle-dynamic-features', { enabled: true });
    expect(texts(await call('toggle-dynamic-features'))[0]).toMatch(/^Removed/);
    expect(session.state.dynamicFeatures).toBeUndefined();
    expect((await session.client.listTools()).tools.map((tool) => tool.name)).not.toContain('dynamic-tool');
    const toolError = await rejection(session.client.callTool({ name: 'dynamic-tool', arguments: {} }));
    expect((toolError as McpError).code).toBe(ErrorCode.InvalidParams);
    const promptError = await rejection(session.client.getPrompt({ name: 'dynamic-prompt' }));
    expect((promptError as McpError).code).toBe(ErrorCode.InvalidParams);
    expect(sentNotifications(session.sent, 'notifications/tools/list_changed')).toHaveLength(2);
  });

  it('sends nothing when asked for the state it is already in', async () => {
    expect(texts(await call('toggle-dynamic-features', { enabled: false }))[0]).toMatch(/^Nothing changed/);
    expect(sentNotifications(session.sent, 'notifications/tools/list_changed')).toHaveLength(0);
    expect(session.stateChanges).toHaveLength(0);
  });

  it('dynamic-tool is an unknown tool before it is added', async () => {
    const error = await rejection(session.client.callTool({ name: 'dynamic-tool', arguments: {} }));
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toContain('Unknown tool: dynamic-tool');
  });
});
