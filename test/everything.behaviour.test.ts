/**
 * The behavioural suite: the whole upstream-compatible feature set through the
 * official SDK client, run on the embedded in-memory backend and on Redis with two
 * instances, where every HTTP request alternates between them (so each reply and
 * each client answer crosses instances through Redis).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import type { RunningServer } from '../src/server.js';
import { backendCases } from './support/backends.js';
import { connectLegacySse, connectStreamable } from './support/mcp-client.js';

const FAST_UPDATES = { RESOURCE_UPDATE_INTERVAL_MS: '200' };

const backends = backendCases(FAST_UPDATES);

function text(result: unknown): string {
  const content = (result as { content: Array<{ type: string; text?: string }> }).content;
  return content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(backends)('everything server on %s', (_name, start) => {
  let servers: RunningServer[];
  let urls: string[];
  let client: Client;
  let hosts: string[];
  const logs: LoggingMessageNotification['params'][] = [];
  const updates: string[] = [];

  beforeAll(async () => {
    servers = await start();
    urls = servers.map((s) => s.url);
    ({ client, hosts } = await connectStreamable(urls));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('the session is driven through every instance', async () => {
    await client.ping();
    await client.ping();
    expect(new Set(hosts).size).toBe(urls.length);
    expect(client.getServerVersion()?.name).toBe('mcp-everything-server');
  });

  test('lists the upstream-compatible tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'echo',
        'add',
        'longRunningOperation',
        'sampleLLM',
        'getTinyImage',
        'annotatedMessage',
        'getResourceReference',
        'elicitInputs',
      ]),
    );
  });

  test('echo and add answer with their exact texts', async () => {
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'hello world' } }))).toBe('Echo: hello world');
    expect(text(await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } }))).toBe('The sum of 2 and 3.5 is 5.5.');
  });

  test('longRunningOperation reports progress for every step on the request stream', async () => {
    const progress: number[] = [];
    const result = await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
      onprogress: (p) => void progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3]);
    expect(text(result)).toBe('Long running operation completed. Duration: 0.3 seconds, Steps: 3.');
  });

  test('logging/setLevel is honoured by the log notifications of a tool', async () => {
    await client.setLoggingLevel('error');
    logs.length = 0;
    await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.2, steps: 2 } }, undefined, {
      onprogress: () => undefined,
    });
    expect(logs.filter((l) => l.level === 'info')).toHaveLength(0);

    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.2, steps: 2 } }, undefined, {
      onprogress: () => undefined,
    });
    expect(logs.filter((l) => l.level === 'info')).toHaveLength(2);
  });

  test('an out-of-bounds argument is a tool error, not a crash', async () => {
    const result = await client.callTool({ name: 'longRunningOperation', arguments: { duration: 36000, steps: 5 } });
    expect(result.isError).toBe(true);
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'still alive' } }))).toBe('Echo: still alive');
  });

  test('sampleLLM: the sampling request and the client answer cross instances', async () => {
    const result = await client.callTool({ name: 'sampleLLM', arguments: { prompt: 'tell me a joke', maxTokens: 50 } });
    expect(text(result)).toBe('LLM sampling result: sampled(Resource sampleLLM context: tell me a joke)');
  });

  test('elicitInputs: the elicitation and its answer cross instances', async () => {
    const result = await client.callTool({ name: 'elicitInputs', arguments: {} });
    expect(text(result)).toContain('"action": "accept"');
    expect(text(result)).toContain('Ada');
  });

  test('getTinyImage, annotatedMessage and getResourceReference', async () => {
    const image = await client.callTool({ name: 'getTinyImage', arguments: {} });
    const content = image.content as Array<{ type: string; mimeType?: string; data?: string }>;
    expect(content.find((c) => c.type === 'image')?.mimeType).toBe('image/png');

    const annotated = await client.callTool({ name: 'annotatedMessage', arguments: { messageType: 'error', includeImage: true } });
    const parts = annotated.content as Array<{ type: string; annotations?: { priority?: number } }>;
    expect(parts[0]?.annotations?.priority).toBe(1);
    expect(parts.some((p) => p.type === 'image')).toBe(true);

    const reference = await client.callTool({ name: 'getResourceReference', arguments: { resourceId: 7 } });
    const embedded = (reference.content as Array<{ type: string; resource?: { uri: string } }>).find((c) => c.type === 'resource');
    expect(embedded?.resource?.uri).toBe('test://static/resource/7');
  });

  test('resources: 100 in pages of 10, text and blob reads, the template', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listResources(cursor ? { cursor } : {});
      expect(page.resources.length).toBe(10);
      seen.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(10);
    expect(new Set(seen).size).toBe(100);

    const odd = await client.readResource({ uri: 'test://static/resource/1' });
    expect(odd.contents[0]).toMatchObject({ uri: 'test://static/resource/1', mimeType: 'text/plain' });
    expect('text' in odd.contents[0]!).toBe(true);
    const even = await client.readResource({ uri: 'test://static/resource/2' });
    expect('blob' in even.contents[0]!).toBe(true);

    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('test://static/resource/{id}');
  });

  test('prompts and completions', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['simple_prompt', 'complex_prompt', 'resource_prompt']));
    const complex = await client.getPrompt({ name: 'complex_prompt', arguments: { temperature: '0.7', style: 'formal' } });
    expect(JSON.stringify(complex.messages)).toContain('temperature=0.7, style=formal');
    const withResource = await client.getPrompt({ name: 'resource_prompt', arguments: { resourceId: '3' } });
    expect(JSON.stringify(withResource.messages)).toContain('test://static/resource/3');

    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'complex_prompt' },
      argument: { name: 'style', value: 'f' },
    });
    expect(completion.completion.values.length).toBeGreaterThan(0);
    for (const value of completion.completion.values) expect(value.startsWith('f')).toBe(true);
  });

  test('resource subscriptions: updates arrive while subscribed and stop after unsubscribe', async () => {
    const uri = 'test://static/resource/5';
    await client.subscribeResource({ uri });
    await waitFor(() => (updates.filter((u) => u === uri).length >= 2 ? true : undefined));
    await client.unsubscribeResource({ uri });
    await new Promise((r) => setTimeout(r, 300)); // let an update already in flight land
    const count = updates.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(updates.length).toBe(count);
  });

  test('legacy HTTP+SSE: stream on one instance, POSTs on the other', async () => {
    const legacy = await connectLegacySse(urls[0]!, urls[urls.length - 1]!);
    try {
      expect(text(await legacy.client.callTool({ name: 'echo', arguments: { message: 'legacy' } }))).toBe('Echo: legacy');
      const sampled = await legacy.client.callTool({ name: 'sampleLLM', arguments: { prompt: 'hi', maxTokens: 5 } });
      expect(text(sampled)).toBe('LLM sampling result: sampled(Resource sampleLLM context: hi)');
    } finally {
      await legacy.client.close();
    }
  });

  test('DELETE ends the session on every instance', async () => {
    const other = await connectStreamable(urls);
    await other.client.ping();
    const sessionId = other.transport.sessionId!;
    await other.transport.terminateSession();
    for (const url of urls) {
      const response = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      expect(response.status).toBe(404);
    }
    await other.client.close();
  });
});
