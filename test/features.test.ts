/**
 * Feature set B through the official SDK client, on the embedded
 * in-memory backend and on Redis with two instances. A recording fetch routes
 * each HTTP request (alternating between instances unless a test pins it) and
 * reads every SSE stream it hands to the client, so the tests can assert on
 * which stream — the standalone GET stream or a request's POST stream — each
 * server message travelled, and on which instance each client message landed.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  UrlElicitationRequiredError,
  type CallToolResult,
  type ElicitRequest,
  type LoggingMessageNotification,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';
import type { RunningServer } from '../src/server.js';
import { backendCases } from './support/backends.js';
import { sseMessages } from './support/http-raw.js';

const INTERVAL_MS = 200;
const backends = backendCases({ RESOURCE_UPDATE_INTERVAL_MS: String(INTERVAL_MS) });

type JsonRpc = Record<string, any>;

/** One server→client message, and the kind of HTTP stream it arrived on. */
interface Received {
  stream: 'GET' | 'POST';
  host: string;
  message: JsonRpc;
}

/** One client→server HTTP request: where it went and what it carried. */
interface Sent {
  method: string;
  host: string;
  body?: JsonRpc;
}

/** Where a POST goes: an index into the instances, or undefined to alternate. */
type Pin = (body: JsonRpc) => number | undefined;

function recordingFetch(baseUrls: string[]) {
  let next = 0;
  const sent: Sent[] = [];
  const received: Received[] = [];
  let pin: Pin = () => undefined;

  const read = async (body: ReadableStream<Uint8Array>, stream: 'GET' | 'POST', host: string) => {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        const end = buffer.lastIndexOf('\n\n');
        if (end < 0) continue;
        for (const message of sseMessages(buffer.slice(0, end + 2))) received.push({ stream, host, message });
        buffer = buffer.slice(end + 2);
      }
    } catch {
      // The client closed the stream; nothing more to record.
    }
  };

  const fetchLike: FetchLike = async (input, init) => {
    const url = new URL(input.toString());
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as JsonRpc) : undefined;
    const pinned = method === 'POST' && body ? pin(body) : undefined;
    const index = pinned ?? next++ % baseUrls.length;
    const target = new URL(baseUrls[index % baseUrls.length]!);
    url.host = target.host;
    sent.push({ method, host: target.host, ...(body ? { body } : {}) });
    const response = await fetch(url, init);
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
    const [forClient, forTest] = response.body.tee();
    void read(forTest, method === 'GET' ? 'GET' : 'POST', target.host);
    return new Response(forClient, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  return {
    fetchLike,
    sent,
    received,
    pinPosts(rule: Pin) {
      pin = rule;
    },
  };
}

interface FeatureClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  recorder: ReturnType<typeof recordingFetch>;
  logs: LoggingMessageNotification['params'][];
  roots: Root[];
  elicitations: ElicitRequest['params'][];
}

/** A client with every capability set B exercises: roots, form and URL elicitation, sampling. */
async function connectFeatureClient(urls: string[]): Promise<FeatureClient> {
  const recorder = recordingFetch(urls);
  const client = new Client(
    { name: 'features-test-client', version: '1.0.0' },
    { capabilities: { roots: { listChanged: true }, elicitation: { form: {}, url: {} }, sampling: {} } },
  );
  const logs: LoggingMessageNotification['params'][] = [];
  const roots: Root[] = [{ uri: 'file:///home/ada/project', name: 'Project' }];
  const elicitations: ElicitRequest['params'][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [...roots] }));
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    elicitations.push(request.params);
    return { action: 'accept' };
  });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', urls[0]), { fetch: recorder.fetchLike });
  await client.connect(transport);
  return { client, transport, recorder, logs, roots, elicitations };
}

async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function texts(result: unknown): string[] {
  return (result as CallToolResult).content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
}

function receivedWith(received: Received[], method: string): Received[] {
  return received.filter(({ message }) => message.method === method);
}

describe.each(backends)('feature set B on %s', (_name, start) => {
  let servers: RunningServer[];
  let urls: string[];
  let hosts: string[];
  let session: FeatureClient;

  beforeAll(async () => {
    servers = await start();
    urls = servers.map((server) => server.url);
    hosts = urls.map((url) => new URL(url).host);
    session = await connectFeatureClient(urls);
    // The SDK client opens its standalone GET stream after initialization; wait until the
    // owner knows it listens: simulated logging only runs while it does.
    await session.client.callTool({ name: 'toggle-simulated-logging', arguments: { enabled: true } });
    await waitFor(() => session.logs.some((log) => log.logger === 'simulated-logging'), 'the standalone stream', 10_000);
    await session.client.callTool({ name: 'toggle-simulated-logging', arguments: { enabled: false } });
    await pause(INTERVAL_MS); // a tick already in flight lands
  });

  afterAll(async () => {
    await session?.client.close();
    await Promise.all(servers.map((server) => server.stop()));
  });

  afterEach(() => session.recorder.pinPosts(() => undefined));

  test('the session is driven through every instance and has a standalone GET stream', () => {
    expect(new Set(session.recorder.sent.map((request) => request.host))).toEqual(new Set(hosts));
    expect(session.recorder.sent.some((request) => request.method === 'GET')).toBe(true);
  });

  test('structured content: structuredContent matches the listed outputSchema, with the same data as text', async () => {
    const { tools } = await session.client.listTools();
    const tool = tools.find((candidate) => candidate.name === 'get-structured-content');
    expect(tool?.outputSchema).toMatchObject({ type: 'object', required: ['location', 'temperature', 'conditions', 'humidity'] });
    // The SDK client checks structuredContent against the outputSchema it listed, and throws if it does not match.
    const result = (await session.client.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } })) as CallToolResult;
    expect(result.structuredContent).toEqual({ location: 'New York', temperature: 22.5, conditions: 'Partly cloudy', humidity: 65 });
    expect(JSON.parse(texts(result)[0]!)).toEqual(result.structuredContent);
  });

  test('resource links: resource_link blocks that the client can read on any instance', async () => {
    const result = (await session.client.callTool({ name: 'get-resource-links', arguments: { count: 2 } })) as CallToolResult;
    const links = result.content.filter((block) => block.type === 'resource_link') as Array<{ uri: string; name: string }>;
    expect(links.map((link) => link.uri)).toEqual(['test://static/resource/1', 'test://static/resource/2']);
    for (const link of links) {
      const { contents } = await session.client.readResource({ uri: link.uri });
      expect(contents[0]?.uri).toBe(link.uri);
    }
  });

  test('audio content: a WAV file', async () => {
    const result = (await session.client.callTool({ name: 'get-tiny-audio', arguments: {} })) as CallToolResult;
    const audio = result.content.find((block) => block.type === 'audio') as { data: string; mimeType: string };
    expect(audio.mimeType).toBe('audio/wav');
    const wav = Buffer.from(audio.data, 'base64');
    expect(wav.subarray(0, 4).toString() + wav.subarray(8, 12).toString()).toBe('RIFFWAVE');
  });

  test("roots: the server's roots/list rides the call's stream and the client's answer lands on the other instance", async () => {
    const first = session.recorder.sent.length;
    // tools/call to the first instance, every client response to the last one.
    session.recorder.pinPosts((body) => (body.method === 'tools/call' ? 0 : 'result' in body || 'error' in body ? urls.length - 1 : undefined));
    const result = await session.client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(texts(result)).toEqual(['The client has 1 root(s):\n1. file:///home/ada/project (Project)']);

    const posts = session.recorder.sent.slice(first);
    const call = posts.find((request) => request.body?.method === 'tools/call');
    const answer = posts.find((request) => Array.isArray(request.body?.result?.roots));
    expect(call?.host).toBe(hosts[0]);
    expect(answer?.host).toBe(hosts[hosts.length - 1]);
    const rootsRequest = receivedWith(session.recorder.received, 'roots/list').find(({ message }) => message.id === answer?.body?.id);
    expect(rootsRequest).toMatchObject({ stream: 'POST', host: hosts[0] });
  });

  test('roots: notifications/roots/list_changed makes the server re-read the roots and log them on the standalone stream', async () => {
    session.recorder.pinPosts((body) => ('result' in body ? urls.length - 1 : undefined));
    session.roots.push({ uri: 'file:///srv/data', name: 'Data' });
    try {
      await session.client.sendRootsListChanged();
      const log = await waitFor(
        () => session.logs.find((entry) => entry.logger === 'roots' && String(entry.data).includes('file:///srv/data')),
        'the roots log message',
      );
      expect(log).toEqual({
        level: 'info',
        logger: 'roots',
        data: 'Roots changed. The client has 2 root(s):\n1. file:///home/ada/project (Project)\n2. file:///srv/data (Data)',
      });
      // Not caused by a request: the roots/list request and the log come on the GET stream.
      const rootsRequests = receivedWith(session.recorder.received, 'roots/list').filter(({ stream }) => stream === 'GET');
      expect(rootsRequests.length).toBeGreaterThanOrEqual(1);
      const logged = receivedWith(session.recorder.received, 'notifications/message').find(
        ({ message }) => message.params?.logger === 'roots',
      );
      expect(logged?.stream).toBe('GET');
    } finally {
      session.roots.pop();
    }
  });

  test('URL-mode elicitation: elicitation/create with mode "url", then notifications/elicitation/complete', async () => {
    const completed: string[] = [];
    session.client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => void completed.push(n.params.elicitationId));
    const before = session.elicitations.length;
    const result = await session.client.callTool({
      name: 'trigger-url-elicitation',
      arguments: { url: 'https://example.com/connect', message: 'Connect your account' },
    });
    const request = session.elicitations.slice(before)[0] as { mode: string; url: string; elicitationId: string };
    expect(request).toMatchObject({ mode: 'url', url: 'https://example.com/connect', message: 'Connect your account' });
    expect(texts(result)).toEqual([`URL elicitation ${request.elicitationId} (https://example.com/connect): action=accept`]);
    expect(completed).toEqual([request.elicitationId]);
  });

  test('URL-mode elicitation: the error path answers -32042 with the elicitation, and the retry succeeds', async () => {
    const args = { url: 'https://example.com/authorize', message: 'Authorize access', errorPath: true };
    const error = await session.client.callTool({ name: 'trigger-url-elicitation', arguments: args }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UrlElicitationRequiredError);
    const required = error as UrlElicitationRequiredError;
    expect(required.code).toBe(-32042);
    expect(required.elicitations).toEqual([
      { mode: 'url', elicitationId: expect.stringMatching(/^[0-9a-f-]{36}$/), url: 'https://example.com/authorize', message: 'Authorize access' },
    ]);
    const retry = await session.client.callTool({ name: 'trigger-url-elicitation', arguments: args });
    expect(texts(retry)[0]).toBe(
      `Retry succeeded: URL elicitation ${required.elicitations[0]!.elicitationId} (https://example.com/authorize) is treated as completed.`,
    );
  });

  test('tool annotations and icons on every tool; icons on every prompt, resource and template', async () => {
    const { tools } = await session.client.listTools();
    expect(tools.length).toBeGreaterThanOrEqual(30);
    for (const tool of tools) {
      expect(tool.annotations).toEqual({
        title: expect.any(String),
        readOnlyHint: expect.any(Boolean),
        destructiveHint: expect.any(Boolean),
        idempotentHint: expect.any(Boolean),
        openWorldHint: expect.any(Boolean),
      });
      expect(tool.icons?.map((icon) => [icon.mimeType, icon.sizes])).toEqual([['image/png', ['16x16']]]);
    }
    const { prompts } = await session.client.listPrompts();
    const { resources } = await session.client.listResources();
    const { resourceTemplates } = await session.client.listResourceTemplates();
    for (const entry of [...prompts, ...resources, ...resourceTemplates]) {
      expect(entry.icons?.map((icon) => icon.src.slice(0, 22))).toEqual(['data:image/png;base64,']);
    }
    expect(session.client.getServerVersion()?.icons).toHaveLength(1);
  });

  test('completions with context: the names offered depend on the department already chosen', async () => {
    const ref = { type: 'ref/prompt' as const, name: 'completable-prompt' };
    const engineering = await session.client.complete({
      ref,
      argument: { name: 'name', value: 'a' },
      context: { arguments: { department: 'Engineering' } },
    });
    expect(engineering.completion.values).toEqual(['Ada', 'Alan']);
    const sales = await session.client.complete({
      ref,
      argument: { name: 'name', value: 'a' },
      context: { arguments: { department: 'Sales' } },
    });
    expect(sales.completion.values).toEqual(['Alice']);
  });

  test('list changed: toggle-dynamic-features announces tool and prompt list changes on the standalone stream', async () => {
    expect(session.client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true }, prompts: { listChanged: true } });
    let toolChanges = 0;
    let promptChanges = 0;
    session.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void toolChanges++);
    session.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void promptChanges++);
    const toolsBefore = receivedWith(session.recorder.received, 'notifications/tools/list_changed').length;

    await session.client.callTool({ name: 'toggle-dynamic-features', arguments: { enabled: true } });
    await waitFor(() => toolChanges === 1 && promptChanges === 1, 'both list_changed notifications');
    const announcements = [
      ...receivedWith(session.recorder.received, 'notifications/tools/list_changed').slice(toolsBefore),
      ...receivedWith(session.recorder.received, 'notifications/prompts/list_changed').slice(-1),
    ];
    expect(announcements.map(({ stream }) => stream)).toEqual(['GET', 'GET']);

    expect((await session.client.listTools()).tools.map((tool) => tool.name)).toContain('dynamic-tool');
    expect((await session.client.listPrompts()).prompts.map((prompt) => prompt.name)).toContain('dynamic-prompt');
    expect(texts(await session.client.callTool({ name: 'dynamic-tool', arguments: {} }))[0]).toContain('Hello from dynamic-tool');

    // Only this session sees them.
    const other = await connectFeatureClient(urls);
    try {
      expect((await other.client.listTools()).tools.map((tool) => tool.name)).not.toContain('dynamic-tool');
    } finally {
      await other.client.close();
    }

    await session.client.callTool({ name: 'toggle-dynamic-features', arguments: { enabled: false } });
    await waitFor(() => toolChanges === 2 && promptChanges === 2, 'the second pair of list_changed notifications');
    expect((await session.client.listTools()).tools.map((tool) => tool.name)).not.toContain('dynamic-tool');
  });

  test('simulated logging: off by default, on the standalone stream while on, honouring logging/setLevel, silent once off', async () => {
    const simulated = () => session.logs.filter((log) => log.logger === 'simulated-logging');
    const before = simulated().length;
    await pause(INTERVAL_MS * 2);
    expect(simulated()).toHaveLength(before); // switched off in beforeAll

    await session.client.setLoggingLevel('error');
    await session.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await waitFor(() => simulated().length >= before + 2, 'two simulated log messages', 15_000);
    const severe = new Set(['error', 'critical', 'alert', 'emergency']);
    expect(simulated().slice(before).every((log) => severe.has(log.level))).toBe(true);
    const onStream = receivedWith(session.recorder.received, 'notifications/message').filter(
      ({ message }) => message.params?.logger === 'simulated-logging',
    );
    expect(new Set(onStream.map(({ stream }) => stream))).toEqual(new Set(['GET']));

    await session.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await pause(INTERVAL_MS); // a tick already in flight lands
    const atStop = simulated().length;
    await pause(INTERVAL_MS * 3);
    expect(simulated()).toHaveLength(atStop);
    await session.client.setLoggingLevel('debug');
  });

  test('simulated resource updates: a watched-resource subscriber is told only while the toggle is on', async () => {
    const updates: string[] = [];
    session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await session.client.subscribeResource({ uri: 'test://watched-resource' });
    await pause(INTERVAL_MS * 2);
    expect(updates).toHaveLength(0);

    await session.client.callTool({ name: 'toggle-subscriber-updates', arguments: { enabled: true } });
    await waitFor(() => updates.length >= 2, 'two resource updates');
    expect(new Set(updates)).toEqual(new Set(['test://watched-resource']));
    const onStream = receivedWith(session.recorder.received, 'notifications/resources/updated');
    expect(new Set(onStream.map(({ stream }) => stream))).toEqual(new Set(['GET']));

    await session.client.callTool({ name: 'toggle-subscriber-updates', arguments: { enabled: false } });
    await pause(INTERVAL_MS);
    const atStop = updates.length;
    await pause(INTERVAL_MS * 3);
    expect(updates).toHaveLength(atStop);
    await session.client.unsubscribeResource({ uri: 'test://watched-resource' });
  });

  test('the conformance fixtures answer through the same session', async () => {
    const { tools } = await session.client.listTools();
    const fixture = tools.find((tool) => tool.name === 'json_schema_2020_12_tool');
    expect(fixture?.inputSchema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', additionalProperties: false });
    expect(texts(await session.client.callTool({ name: 'test_simple_text', arguments: {} }))).toEqual([
      'This is a simple text response for testing.',
    ]);
    const template = await session.client.readResource({ uri: 'test://template/42/data' });
    expect(JSON.parse((template.contents[0] as { text: string }).text)).toEqual({ id: '42', templateTest: true, data: 'Data for ID: 42' });
    const prompt = await session.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'a', arg2: 'b' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: "Prompt with arguments: arg1='a', arg2='b'" });
  });
});
