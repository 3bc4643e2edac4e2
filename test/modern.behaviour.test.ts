/**
 * The 2026-07-28 era through the official v2 SDK client (@modelcontextprotocol/client),
 * pinned to the revision, on the embedded backend and on Redis with two
 * instances (every HTTP request alternates between them: nothing of a call
 * may depend on the instance that served the one before). What the client
 * hides (resultType, cache hints, the headers of the era) is checked on the
 * wire beneath it. A 2025-era session through the v1 client keeps working at
 * the same URL.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { RunningServer } from '../src/server.js';
import { backendCases } from './support/backends.js';
import { alternatingFetch, connectStreamable } from './support/mcp-client.js';
import { MODERN_REVISION, recordingFetch, type Json, type RecordedExchange } from './support/modern.js';
import { waitUntil } from './support/raw-mcp.js';

const SERVER_NAME = 'mcp-everything-server';

function text(result: unknown): string {
  const content = (result as { content: Array<{ type: string; text?: string }> }).content;
  return content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

describe.each(backendCases())('the 2026-07-28 era through the v2 SDK client on %s', (_name, start) => {
  let servers: RunningServer[];
  let urls: string[];
  let client: Client;
  let wire: ReturnType<typeof recordingFetch>;
  const elicitations: Json[] = [];

  /** The exchanges of one method (and tool/prompt name) the client sent since `from`. */
  const sent = (method: string, name?: string, from = 0): RecordedExchange[] =>
    wire.exchanges.slice(from).filter((e) => e.body?.method === method && (name === undefined || e.body?.params?.name === name));

  beforeAll(async () => {
    servers = await start();
    urls = servers.map((s) => s.url);
    wire = recordingFetch(alternatingFetch(urls));
    client = new Client(
      { name: 'v2-behaviour', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN_REVISION } } },
    );
    client.setRequestHandler('elicitation/create', async (request) => {
      elicitations.push(request.params as Json);
      return { action: 'accept', content: { name: 'Alice' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', urls[0]), { fetch: wire }));
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all((servers ?? []).map((s) => s.stop()));
  });

  test('the client negotiated 2026-07-28 through server/discover, and speaks it without a session', async () => {
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN_REVISION);
    expect(client.getServerVersion()?.name).toBe(SERVER_NAME);

    const discover = await client.discover();
    expect(discover.supportedVersions).toEqual(expect.arrayContaining([MODERN_REVISION, '2025-11-25']));
    expect(discover.capabilities).toMatchObject({ tools: { listChanged: true }, prompts: { listChanged: true }, completions: {} });

    const probes = sent('server/discover');
    expect(probes.length).toBeGreaterThanOrEqual(2);
    for (const probe of probes) {
      expect(probe.status).toBe(200);
      expect(probe.headers.get('mcp-session-id')).toBeNull();
      const [answer] = await probe.messages;
      expect(answer?.result).toMatchObject({ resultType: 'complete', ttlMs: expect.any(Number), cacheScope: expect.stringMatching(/^(public|private)$/) });
      expect(answer?.result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: SERVER_NAME });
    }
    // No initialize was ever sent: this is not a session in disguise.
    expect(sent('initialize')).toHaveLength(0);
  });

  test('tools/list offers echo and the conformance fixtures, with resultType and cache hints', async () => {
    const from = wire.exchanges.length;
    const listed = await client.listTools(undefined, { cacheMode: 'refresh' });
    const names = listed.tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'echo',
        'add',
        'test_simple_text',
        'test_tool_with_progress',
        'test_input_required_result_elicitation',
        'test_input_required_result_multi_round',
        'test_missing_capability',
        'test_trigger_tool_change',
        'test_trigger_prompt_change',
      ]),
    );
    // The client keeps the hints on the result it hands over.
    expect(listed).toMatchObject({ ttlMs: expect.any(Number), cacheScope: expect.stringMatching(/^(public|private)$/) });
    expect((listed as Json).ttlMs).toBeGreaterThan(0);

    const [exchange] = sent('tools/list', undefined, from);
    expect(exchange).toBeDefined();
    expect(exchange!.headers.get('mcp-protocol-version')).toBe(MODERN_REVISION);
    expect(exchange!.headers.get('mcp-method')).toBe('tools/list');
    expect(exchange!.body?.params?._meta?.['io.modelcontextprotocol/protocolVersion']).toBe(MODERN_REVISION);
    const [answer] = await exchange!.messages;
    expect(answer?.result).toMatchObject({ resultType: 'complete', ttlMs: (listed as Json).ttlMs, cacheScope: (listed as Json).cacheScope });
  });

  test('tools/call echo answers "Echo: hi" (resultType complete on the wire, Mcp-Name sent)', async () => {
    const from = wire.exchanges.length;
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    expect(text(result)).toBe('Echo: hi');
    expect(result.isError).toBeFalsy();

    const [exchange] = sent('tools/call', 'echo', from);
    expect(exchange!.headers.get('mcp-name')).toBe('echo');
    expect(exchange!.contentType).toMatch(/^application\/json/);
    const [answer] = await exchange!.messages;
    expect(answer?.result.resultType).toBe('complete');
    expect(answer?.result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: SERVER_NAME });
  });

  test('tools/call add', async () => {
    expect(text(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('The sum of 2 and 3 is 5.');
  });

  test('prompts/list and prompts/get of a prompt with arguments', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['simple_prompt', 'test_prompt_with_arguments']));
    const prompt = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'one', arg2: 'two' } });
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='one', arg2='two'" } }]);
  });

  test('resources/read of test://static/resource/1, with cache hints', async () => {
    const from = wire.exchanges.length;
    const read = await client.readResource({ uri: 'test://static/resource/1' }, { cacheMode: 'refresh' });
    expect(read.contents).toEqual([{ uri: 'test://static/resource/1', mimeType: 'text/plain', text: 'Resource 1: This is a plaintext resource' }]);
    const [exchange] = sent('resources/read', undefined, from);
    expect(exchange!.headers.get('mcp-name')).toBe('test://static/resource/1');
    const [answer] = await exchange!.messages;
    expect(answer?.result).toMatchObject({ resultType: 'complete', ttlMs: expect.any(Number), cacheScope: expect.stringMatching(/^(public|private)$/) });
  });

  test('completion/complete of a prompt argument', async () => {
    const completed = await client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'te' } });
    expect(completed.completion.values).toEqual(['test', 'testValue1']);
    expect(completed.completion.hasMore).toBe(false);
  });

  test('an input_required round is answered by the client\'s own elicitation handler: "Hello, Alice!"', async () => {
    const from = wire.exchanges.length;
    const before = elicitations.length;
    const result = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
    expect(text(result)).toBe('Hello, Alice!');

    // The handler was asked the server's question, once.
    expect(elicitations.slice(before)).toEqual([expect.objectContaining({ mode: 'form', message: 'What is your name?' })]);
    // Two requests on the wire: the question (input_required, sealed state), then the retry carrying answer and state.
    const rounds = sent('tools/call', 'test_input_required_result_elicitation', from);
    expect(rounds).toHaveLength(2);
    const [first] = await rounds[0]!.messages;
    expect(first?.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { user_name: { method: 'elicitation/create' } },
      requestState: expect.stringMatching(/^v1\./),
    });
    expect(rounds[1]!.body?.params).toMatchObject({
      inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } } },
      requestState: first!.result.requestState,
    });
    const [second] = await rounds[1]!.messages;
    expect(second?.result.resultType).toBe('complete');
    // On Redis the retry reached the other instance: the state alone carried the call.
    expect(new Set(rounds.map((r) => r.host)).size).toBe(urls.length);
  });

  test('progress notifications arrive for test_tool_with_progress with a progress token', async () => {
    const from = wire.exchanges.length;
    const progress: Array<{ progress: number; total?: number }> = [];
    const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: (p) => void progress.push(p) });
    expect(text(result)).toBe('Tool with progress executed successfully');
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [0, 100],
      [50, 100],
      [100, 100],
    ]);

    // The answer became an event stream: the progress notifications carry the request's token, then the result.
    const [exchange] = sent('tools/call', 'test_tool_with_progress', from);
    const token = exchange!.body?.params?._meta?.progressToken;
    expect(token).toBeDefined();
    expect(exchange!.contentType).toMatch(/^text\/event-stream/);
    const messages = await exchange!.messages;
    expect(messages.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progressToken)).toEqual([token, token, token]);
    expect(messages.at(-1)?.result?.resultType).toBe('complete');
  });

  test('subscriptions/listen through the client: a tool list change reaches its notification handler', async () => {
    let changes = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void (changes += 1));
    const from = wire.exchanges.length;
    const subscription = await client.listen({ toolsListChanged: true });
    try {
      expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });
      expect(text(await client.callTool({ name: 'test_trigger_tool_change', arguments: {} }))).toBe('Mutation triggered');
      await waitUntil(() => changes > 0, 5000, 'notifications/tools/list_changed through the listen stream');
    } finally {
      await subscription.close();
    }
    expect(await subscription.closed).toBe('local');
    // Closing it ended the server's stream: no instance keeps a listen stream for it.
    await waitUntil(() => servers.every((s) => s.runtime.modern.listens.size === 0), 5000, 'the listen stream released on the server');
    // On Redis the change was triggered on the other instance than the one holding the stream.
    const [listen] = sent('subscriptions/listen', undefined, from);
    const [trigger] = sent('tools/call', 'test_trigger_tool_change', from);
    expect(listen!.contentType).toMatch(/^text\/event-stream/);
    expect(new Set([listen!.host, trigger!.host]).size).toBe(urls.length);
  });

  test('a 2025-era session through the v1 client keeps working at the same URL', async () => {
    const legacy = await connectStreamable(urls);
    try {
      expect(legacy.transport.sessionId).toEqual(expect.any(String));
      expect(legacy.client.getServerVersion()?.name).toBe(SERVER_NAME);
      expect(text(await legacy.client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
      // And the modern client beside it is unaffected.
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'still modern' } }))).toBe('Echo: still modern');
    } finally {
      await legacy.client.close();
    }
  });
});
