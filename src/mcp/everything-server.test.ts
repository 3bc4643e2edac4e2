import type { ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type CreateMessageRequest,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { expectMcpError } from '../../test/support/mcp-errors.js';
import { connectInMemory, sentNotifications, type InMemorySession, type SentMessage } from '../../test/support/in-memory-session.js';
import { TINY_IMAGE_PNG_BASE64 } from './tiny-image.js';

/** A client and a session server joined in memory; records what the server sends and how it is routed. */
function connect(capabilities: NonNullable<ClientOptions['capabilities']> = {}) {
  return connectInMemory({ capabilities });
}

type Session = InMemorySession;

function responses(sent: SentMessage[]) {
  return sent.filter(({ message }) => 'result' in message || 'error' in message);
}

function elicitationRequests(sent: SentMessage[]) {
  return sent.flatMap(({ message }) =>
    'method' in message && message.method === 'elicitation/create' ? [message.params] : [],
  );
}

function textOf(result: unknown): string[] {
  return (result as CallToolResult).content.map((block) => (block.type === 'text' ? block.text : `<${block.type}>`));
}

describe('createEverythingServer', () => {
  let session: Session;
  afterEach(async () => session.close());

  it('announces its name and the capabilities of the feature set', async () => {
    session = await connect();
    expect(session.client.getServerVersion()?.name).toBe('mcp-everything-server');
    expect(session.client.getServerCapabilities()).toEqual({
      tools: { listChanged: true },
      resources: { subscribe: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    });
  });

  it('lists the eight upstream-compatible tools first, in their order, with input schemas', async () => {
    session = await connect();
    const { tools } = await session.client.listTools();
    expect(tools.slice(0, 8).map((tool) => tool.name)).toEqual([
      'echo',
      'add',
      'longRunningOperation',
      'sampleLLM',
      'getTinyImage',
      'annotatedMessage',
      'getResourceReference',
      'elicitInputs',
    ]);
    const longRunning = tools.find((tool) => tool.name === 'longRunningOperation');
    expect(longRunning?.inputSchema.properties).toMatchObject({
      duration: { type: 'number', default: 10, maximum: 120 },
      steps: { type: 'integer', default: 5, minimum: 1, maximum: 100 },
    });
    // Defaulted arguments are optional for the caller.
    expect(longRunning?.inputSchema.required).toBeUndefined();
  });

  it('shares tool definitions between sessions instead of copying them', async () => {
    session = await connect();
    const other = await connect();
    try {
      const [mine, theirs] = await Promise.all([session.client.listTools(), other.client.listTools()]);
      expect(mine).toEqual(theirs);
    } finally {
      await other.close();
    }
  });

  describe('simple tools', () => {
    beforeEach(async () => {
      session = await connect();
    });

    it('echo returns "Echo: {message}"', async () => {
      const result = await session.client.callTool({ name: 'echo', arguments: { message: 'hello world' } });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toEqual(['Echo: hello world']);
    });

    it('echo rejects a message over 10,000 characters as a tool error', async () => {
      const result = await session.client.callTool({ name: 'echo', arguments: { message: 'x'.repeat(10_001) } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toMatch(/^Invalid arguments for tool echo: message: /);
    });

    it('add returns "The sum of {a} and {b} is {a+b}."', async () => {
      const result = await session.client.callTool({ name: 'add', arguments: { a: 2.5, b: -7 } });
      expect(textOf(result)).toEqual(['The sum of 2.5 and -7 is -4.5.']);
    });

    it('add reports a missing or non-numeric argument by name', async () => {
      const result = await session.client.callTool({ name: 'add', arguments: { a: '1' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('a: ');
      expect(textOf(result)[0]).toContain('b: ');
    });

    it('getTinyImage returns the PNG between two texts', async () => {
      const result = (await session.client.callTool({ name: 'getTinyImage', arguments: {} })) as CallToolResult;
      expect(result.content).toEqual([
        { type: 'text', text: 'This is a tiny image:' },
        { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: 'image/png' },
        { type: 'text', text: 'The image above is the MCP tiny image.' },
      ]);
      expect(Buffer.from(TINY_IMAGE_PNG_BASE64, 'base64').subarray(1, 4).toString()).toBe('PNG');
    });

    it('annotatedMessage annotates by message type and adds the image only on request', async () => {
      const error = (await session.client.callTool({
        name: 'annotatedMessage',
        arguments: { messageType: 'error' },
      })) as CallToolResult;
      expect(error.content).toEqual([
        {
          type: 'text',
          text: 'Error: Operation failed',
          annotations: { priority: 1.0, audience: ['user', 'assistant'] },
        },
      ]);

      const debug = (await session.client.callTool({
        name: 'annotatedMessage',
        arguments: { messageType: 'debug', includeImage: true },
      })) as CallToolResult;
      expect(debug.content.map((block) => block.type)).toEqual(['text', 'image']);
      expect(debug.content[0]).toMatchObject({
        text: 'Debug: Cache hit ratio 0.95, latency 150ms',
        annotations: { priority: 0.3, audience: ['assistant'] },
      });
      expect(debug.content[1]).toMatchObject({ annotations: { priority: 0.5, audience: ['user'] } });
    });

    it('annotatedMessage rejects an unknown message type', async () => {
      const result = await session.client.callTool({ name: 'annotatedMessage', arguments: { messageType: 'fatal' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('messageType');
    });

    it('getResourceReference embeds the resource with its URI', async () => {
      const result = (await session.client.callTool({
        name: 'getResourceReference',
        arguments: { resourceId: 3 },
      })) as CallToolResult;
      expect(result.content).toEqual([
        { type: 'text', text: 'Returning resource reference for Resource 3:' },
        {
          type: 'resource',
          resource: {
            uri: 'test://static/resource/3',
            mimeType: 'text/plain',
            text: 'Resource 3: This is a plaintext resource',
          },
        },
        { type: 'text', text: 'You can access this resource using the URI: test://static/resource/3' },
      ]);
    });

    it.each([0, 101, 2.5])('getResourceReference rejects resourceId %p', async (resourceId) => {
      const result = await session.client.callTool({ name: 'getResourceReference', arguments: { resourceId } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('resourceId');
    });

    it('an unknown tool is a JSON-RPC InvalidParams error, not a tool result', async () => {
      const error = await expectMcpError(
        session.client.callTool({ name: 'printEnv', arguments: {} }),
        ErrorCode.InvalidParams,
      );
      expect(error.message).toContain('Unknown tool: printEnv');
    });
  });

  describe('longRunningOperation', () => {
    it.each([
      [{ duration: 36_000 }, 'duration'],
      [{ duration: 0 }, 'duration'],
      [{ steps: 0 }, 'steps'],
      [{ steps: 101 }, 'steps'],
      [{ steps: 1.5 }, 'steps'],
    ])('rejects %p as a tool error naming %s', async (args, name) => {
      session = await connect();
      const result = await session.client.callTool({ name: 'longRunningOperation', arguments: args });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toMatch(new RegExp(`^Invalid arguments for tool longRunningOperation: ${name}: `));
    });

    it('sends one progress notification per step on the request, when a progress token is given', async () => {
      session = await connect();
      const progress: Array<{ progress: number; total?: number }> = [];
      const result = await session.client.callTool(
        { name: 'longRunningOperation', arguments: { duration: 0.04, steps: 4 } },
        undefined,
        { onprogress: (update) => progress.push(update) },
      );
      expect(textOf(result)).toEqual(['Long running operation completed. Duration: 0.04 seconds, Steps: 4.']);
      expect(progress).toEqual([1, 2, 3, 4].map((step) => ({ progress: step, total: 4 })));

      const response = responses(session.sent).at(-1)?.message;
      const callId = response && 'id' in response ? response.id : 'no response';
      const progressSent = sentNotifications(session.sent, 'notifications/progress');
      expect(progressSent).toHaveLength(4);
      // Routed onto the tools/call request's stream, not the standalone one.
      for (const { relatedRequestId } of progressSent) expect(relatedRequestId).toBe(callId);
    });

    it('sends no progress notifications without a progress token', async () => {
      session = await connect();
      const result = await session.client.callTool({
        name: 'longRunningOperation',
        arguments: { duration: 0.02, steps: 2 },
      });
      expect(textOf(result)).toEqual(['Long running operation completed. Duration: 0.02 seconds, Steps: 2.']);
      expect(sentNotifications(session.sent, 'notifications/progress')).toHaveLength(0);
    });

    it('stops sending progress once the request is cancelled', async () => {
      session = await connect();
      const responsesBefore = responses(session.sent).length;
      const controller = new AbortController();
      let firstProgress!: () => void;
      const firstProgressSeen = new Promise<void>((resolve) => (firstProgress = resolve));
      const call = session.client.callTool(
        { name: 'longRunningOperation', arguments: { duration: 1, steps: 10 } },
        undefined,
        { signal: controller.signal, onprogress: () => firstProgress() },
      );
      await firstProgressSeen;
      controller.abort('test cancels');
      await expect(call).rejects.toThrow();
      const sentAtAbort = sentNotifications(session.sent, 'notifications/progress').length;
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(sentNotifications(session.sent, 'notifications/progress')).toHaveLength(sentAtAbort);
      expect(sentAtAbort).toBeLessThan(10);
      // The cancelled call gets no response at all.
      expect(responses(session.sent)).toHaveLength(responsesBefore);
    });

    it('logs each step at info level on the request, honouring logging/setLevel', async () => {
      session = await connect();
      const infoLogs = () =>
        sentNotifications(session.sent, 'notifications/message').filter(
          ({ message }) => 'params' in message && message.params?.level === 'info',
        );

      await session.client.setLoggingLevel('error');
      expect(session.state.logLevel).toBe('error');
      expect(session.stateChanges).toHaveLength(1);
      await session.client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.03, steps: 3 } });
      expect(infoLogs()).toHaveLength(0);

      await session.client.setLoggingLevel('debug');
      expect(session.state.logLevel).toBe('debug');
      await session.client.callTool({ name: 'longRunningOperation', arguments: { duration: 0.03, steps: 3 } });
      const logs = infoLogs();
      expect(logs.map(({ message }) => ('params' in message ? message.params?.data : undefined))).toEqual([
        'Completed step 1 of 3',
        'Completed step 2 of 3',
        'Completed step 3 of 3',
      ]);
      expect(logs.every(({ relatedRequestId }) => relatedRequestId !== undefined)).toBe(true);
    });
  });

  describe('sampleLLM', () => {
    it('round-trips sampling/createMessage through the client', async () => {
      session = await connect({ sampling: {} });
      const requests: CreateMessageRequest['params'][] = [];
      session.client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        requests.push(request.params);
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'a sampled answer' } };
      });

      const result = await session.client.callTool({
        name: 'sampleLLM',
        arguments: { prompt: 'Say something', maxTokens: 42 },
      });

      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toEqual(['LLM sampling result: a sampled answer']);
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({
        maxTokens: 42,
        systemPrompt: 'You are a helpful test server.',
        messages: [{ role: 'user', content: { type: 'text', text: 'Resource sampleLLM context: Say something' } }],
      });
      // The client did not declare sampling.context, so none is requested.
      expect(requests[0]?.includeContext).toBeUndefined();
      const samplingRequest = session.sent.find(
        ({ message }) => 'method' in message && message.method === 'sampling/createMessage',
      );
      expect(samplingRequest?.relatedRequestId).toBeDefined();
    });

    it('is a tool error when the client declared no sampling capability', async () => {
      session = await connect();
      const result = await session.client.callTool({ name: 'sampleLLM', arguments: { prompt: 'hi' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('does not support sampling');
      expect(session.sent.some(({ message }) => 'method' in message && message.method === 'sampling/createMessage')).toBe(
        false,
      );
    });

    it('is a tool error when the client fails the sampling request', async () => {
      session = await connect({ sampling: {} });
      session.client.setRequestHandler(CreateMessageRequestSchema, () => {
        throw new McpError(ErrorCode.InvalidRequest, 'user declined');
      });
      const result = await session.client.callTool({ name: 'sampleLLM', arguments: { prompt: 'hi' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toMatch(/^Sampling failed: .*user declined/);
    });

    it.each([
      [{ prompt: 'x'.repeat(10_001) }, 'prompt'],
      [{ prompt: 'hi', maxTokens: 1.5 }, 'maxTokens'],
      [{ prompt: 'hi', maxTokens: 0 }, 'maxTokens'],
      [{ prompt: 'hi', maxTokens: 10_001 }, 'maxTokens'],
    ])('rejects an invalid argument as a tool error (case %#, naming %s)', async (args, name) => {
      session = await connect({ sampling: {} });
      const result = await session.client.callTool({ name: 'sampleLLM', arguments: args });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain(`${name}: `);
    });
  });

  describe('elicitInputs', () => {
    it('round-trips a form elicitation and reports the answer', async () => {
      session = await connect({ elicitation: { form: {} } });
      const requests: ElicitRequest['params'][] = [];
      const answer = { action: 'accept' as const, content: { name: 'Ada Lovelace', check: true } };
      session.client.setRequestHandler(ElicitRequestSchema, (request) => {
        requests.push(request.params);
        return answer;
      });

      const result = await session.client.callTool({ name: 'elicitInputs', arguments: {} });

      expect(result.isError).toBeFalsy();
      const [text] = textOf(result);
      expect(text).toMatch(/^Elicitation result: /);
      expect(JSON.parse(text!.slice('Elicitation result: '.length))).toEqual(answer);
      expect(elicitationRequests(session.sent)[0]).toMatchObject({ mode: 'form' });
      expect(requests[0]).toMatchObject({
        message: 'Please provide inputs for the following fields:',
        requestedSchema: { type: 'object', required: ['name'] },
      });
      expect(Object.keys((requests[0] as { requestedSchema: { properties: object } }).requestedSchema.properties)).toEqual(
        ['name', 'check', 'color', 'email', 'homepage', 'birthdate', 'integer', 'number', 'petType'],
      );
    });

    it('works with clients that declare elicitation without listing modes', async () => {
      session = await connect({ elicitation: {} });
      session.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
      const result = await session.client.callTool({ name: 'elicitInputs', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)[0]).toContain('"action": "decline"');
      expect(elicitationRequests(session.sent)).toHaveLength(1);
    });

    it('is a tool error when the client supports only URL elicitation', async () => {
      session = await connect({ elicitation: { url: {} } });
      const result = await session.client.callTool({ name: 'elicitInputs', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('does not support form elicitation');
      expect(elicitationRequests(session.sent)).toHaveLength(0);
    });

    it('is a tool error when the client cannot elicit', async () => {
      session = await connect();
      const result = await session.client.callTool({ name: 'elicitInputs', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)[0]).toContain('does not support form elicitation');
    });
  });
});
