import { jest } from '@jest/globals';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type ElicitRequest,
  type ElicitRequestFormParams,
} from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, sentNotifications, sentRequests, type InMemorySession } from '../../../test/support/in-memory-session.js';
import { initialFeatureState } from '../session-features.js';
import { TINY_AUDIO_WAV_BASE64 } from '../tiny-audio.js';
import { TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { testReconnectionTool } from './conformance-notifications.js';
import { JSON_SCHEMA_2020_12_INPUT_SCHEMA } from './json-schema-2020-12.js';
import type { ToolContext } from './types.js';

const SET_C_TOOLS = [
  'test_simple_text',
  'test_image_content',
  'test_audio_content',
  'test_embedded_resource',
  'test_multiple_content_types',
  'test_tool_with_logging',
  'test_tool_with_progress',
  'test_error_handling',
  'test_sampling',
  'test_elicitation',
  'test_elicitation_sep1034_defaults',
  'test_elicitation_sep1330_enums',
  'test_reconnection',
  'json_schema_2020_12_tool',
];

let session: InMemorySession;
afterEach(async () => session?.close());

async function call(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await session.client.callTool({ name, arguments: args })) as CallToolResult;
}

function texts(result: CallToolResult): string[] {
  return result.content.flatMap((block) => (block.type === 'text' ? [block.text] : []));
}

function requestedSchema(params: ElicitRequest['params']): ElicitRequestFormParams['requestedSchema'] {
  return (params as ElicitRequestFormParams).requestedSchema;
}

describe('conformance fixture tools (set C)', () => {
  it('lists every fixture with a description and an object inputSchema', async () => {
    session = await connectInMemory();
    const { tools } = await session.client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    for (const name of SET_C_TOOLS) {
      const tool = byName.get(name);
      expect(tool?.description).toEqual(expect.any(String));
      expect(tool?.inputSchema.type).toBe('object');
    }
  });

  describe('content', () => {
    beforeEach(async () => {
      session = await connectInMemory();
    });

    it('test_simple_text returns the fixture text', async () => {
      expect((await call('test_simple_text')).content).toEqual([
        { type: 'text', text: 'This is a simple text response for testing.' },
      ]);
    });

    it('test_simple_text accepts a call without arguments', async () => {
      const result = (await session.client.callTool({ name: 'test_simple_text' })) as CallToolResult;
      expect(result.isError).toBeFalsy();
    });

    it('test_image_content returns one PNG', async () => {
      expect((await call('test_image_content')).content).toEqual([
        { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: 'image/png' },
      ]);
    });

    it('test_audio_content returns one WAV file', async () => {
      const result = await call('test_audio_content');
      expect(result.content).toEqual([{ type: 'audio', data: TINY_AUDIO_WAV_BASE64, mimeType: 'audio/wav' }]);
      const wav = Buffer.from(TINY_AUDIO_WAV_BASE64, 'base64');
      expect(wav.subarray(0, 4).toString()).toBe('RIFF');
      expect(wav.subarray(8, 12).toString()).toBe('WAVE');
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    });

    it('test_embedded_resource embeds a text resource with URI and MIME type', async () => {
      expect((await call('test_embedded_resource')).content).toEqual([
        {
          type: 'resource',
          resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
        },
      ]);
    });

    it('test_multiple_content_types returns text, image and an embedded JSON resource', async () => {
      const { content } = await call('test_multiple_content_types');
      expect(content.map((block) => block.type)).toEqual(['text', 'image', 'resource']);
      const resource = content[2] as { resource: { text: string; mimeType: string } };
      expect(resource.resource.mimeType).toBe('application/json');
      expect(JSON.parse(resource.resource.text)).toEqual({ test: 'data', value: 123 });
    });

    it('test_error_handling is an isError result, not a protocol error', async () => {
      const result = await call('test_error_handling');
      expect(result.isError).toBe(true);
      expect(texts(result)).toEqual(['This tool intentionally returns an error for testing']);
    });
  });

  describe('notifications while running', () => {
    it('test_tool_with_logging sends three info messages on the call, in order', async () => {
      session = await connectInMemory();
      const logs: unknown[] = [];
      session.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
      await session.client.setLoggingLevel('debug');
      const result = await call('test_tool_with_logging');
      expect(texts(result)).toEqual(['Tool with logging executed successfully']);
      expect(logs.slice(-3)).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
      const sent = sentNotifications(session.sent, 'notifications/message').slice(-3);
      expect(sent.every(({ relatedRequestId }) => relatedRequestId !== undefined)).toBe(true);
    });

    it('test_tool_with_logging honours logging/setLevel', async () => {
      session = await connectInMemory();
      await session.client.setLoggingLevel('warning');
      await call('test_tool_with_logging');
      expect(sentNotifications(session.sent, 'notifications/message')).toHaveLength(0);
    });

    it('test_tool_with_progress reports 0, 50 and 100 of 100 with the caller token', async () => {
      session = await connectInMemory();
      const progress: Array<{ progress: number; total?: number }> = [];
      const result = (await session.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
        onprogress: ({ progress: value, total }) => void progress.push({ progress: value, total }),
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(progress).toEqual([
        { progress: 0, total: 100 },
        { progress: 50, total: 100 },
        { progress: 100, total: 100 },
      ]);
    });

    it('test_tool_with_progress sends nothing without a progress token', async () => {
      session = await connectInMemory();
      const result = await call('test_tool_with_progress');
      expect(texts(result)[0]).toContain('no progress token');
      expect(sentNotifications(session.sent, 'notifications/progress')).toHaveLength(0);
    });

    it('test_reconnection closes the SSE stream of the call before answering', async () => {
      const order: string[] = [];
      const closeSSEStream = jest.fn(() => void order.push('closed'));
      const signal = new AbortController().signal;
      const context = { signal, session: { extra: { signal, closeSSEStream }, state: initialFeatureState() } } as unknown as ToolContext;
      const result = await testReconnectionTool.call({}, context).then((r) => {
        order.push('answered');
        return r;
      });
      expect(closeSSEStream).toHaveBeenCalledTimes(1);
      expect(order).toEqual(['closed', 'answered']);
      expect(texts(result)[0]).toContain('closed the stream mid-call');
    });

    it('test_reconnection still answers on a transport that cannot close the stream', async () => {
      session = await connectInMemory();
      const result = await call('test_reconnection');
      expect(result.isError).toBeFalsy();
      expect(texts(result)[0]).toContain('stayed open');
    });
  });

  describe('test_sampling', () => {
    it('sends the prompt with maxTokens 100 and returns the answer', async () => {
      session = await connectInMemory({ capabilities: { sampling: {} } });
      const requests: CreateMessageRequest['params'][] = [];
      session.client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        requests.push(request.params);
        return { model: 'm', role: 'assistant', content: { type: 'text', text: 'an answer' } };
      });
      const result = await call('test_sampling', { prompt: 'Test prompt for sampling' });
      expect(texts(result)).toEqual(['LLM response: an answer']);
      expect(requests).toEqual([
        { messages: [{ role: 'user', content: { type: 'text', text: 'Test prompt for sampling' } }], maxTokens: 100 },
      ]);
      expect(sentRequests(session.sent, 'sampling/createMessage')[0]?.relatedRequestId).toBeDefined();
    });

    it('is an isError result for a client without sampling', async () => {
      session = await connectInMemory();
      const result = await call('test_sampling', { prompt: 'hi' });
      expect(result.isError).toBe(true);
      expect(sentRequests(session.sent, 'sampling/createMessage')).toHaveLength(0);
    });

    it.each([[{}], [{ prompt: 'x'.repeat(10_001) }], [{ prompt: 42 }]])('rejects invalid arguments (case %#)', async (args) => {
      session = await connectInMemory({ capabilities: { sampling: {} } });
      const result = await call('test_sampling', args);
      expect(result.isError).toBe(true);
      expect(texts(result)[0]).toMatch(/^Invalid arguments for tool test_sampling: prompt: /);
    });
  });

  describe('elicitation fixtures', () => {
    let requests: ElicitRequest['params'][];
    beforeEach(async () => {
      session = await connectInMemory({ capabilities: { elicitation: {} } });
      requests = [];
      session.client.setRequestHandler(ElicitRequestSchema, (request) => {
        requests.push(request.params);
        return { action: 'accept', content: { username: 'testuser', email: 'test@example.com' } };
      });
    });

    it('test_elicitation asks for username and email with the given message', async () => {
      const result = await call('test_elicitation', { message: 'Please provide your information' });
      expect(requests[0]).toMatchObject({ mode: 'form', message: 'Please provide your information' });
      expect(requestedSchema(requests[0]!)).toEqual({
        type: 'object',
        properties: {
          username: { type: 'string', description: "User's response" },
          email: { type: 'string', description: "User's email address" },
        },
        required: ['username', 'email'],
      });
      expect(texts(result)).toEqual(['User response: action=accept, content={"username":"testuser","email":"test@example.com"}']);
    });

    it('test_elicitation rejects a missing or overlong message', async () => {
      expect((await call('test_elicitation', {})).isError).toBe(true);
      expect((await call('test_elicitation', { message: 'x'.repeat(1001) })).isError).toBe(true);
      expect(requests).toHaveLength(0);
    });

    it('test_elicitation_sep1034_defaults sends a default for every primitive type', async () => {
      const result = await call('test_elicitation_sep1034_defaults');
      const { properties } = requestedSchema(requests[0]!);
      expect(properties).toMatchObject({
        name: { type: 'string', default: 'John Doe' },
        age: { type: 'integer', default: 30 },
        score: { type: 'number', default: 95.5 },
        status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
        verified: { type: 'boolean', default: true },
      });
      expect(texts(result)[0]).toMatch(/^Elicitation completed: action=accept, content=\{/);
    });

    it('test_elicitation_sep1330_enums sends all five enum variants', async () => {
      await call('test_elicitation_sep1330_enums');
      const { properties } = requestedSchema(requests[0]!) as { properties: Record<string, Record<string, unknown>> };
      expect(properties.untitledSingle).toMatchObject({ type: 'string', enum: ['option1', 'option2', 'option3'] });
      expect(properties.untitledSingle).not.toHaveProperty('oneOf');
      expect(properties.untitledSingle).not.toHaveProperty('enumNames');
      expect(properties.titledSingle).toMatchObject({ type: 'string', oneOf: expect.arrayContaining([{ const: 'value1', title: 'First Option' }]) });
      expect(properties.legacyEnum).toMatchObject({ type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] });
      expect(properties.untitledMulti).toMatchObject({ type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } });
      expect(properties.titledMulti).toMatchObject({
        type: 'array',
        items: { anyOf: expect.arrayContaining([{ const: 'value2', title: 'Second Choice' }]) },
      });
      expect(properties.titledMulti!.items).not.toHaveProperty('enum');
    });

    it('reports a declined elicitation', async () => {
      session.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
      expect(texts(await call('test_elicitation_sep1034_defaults'))).toEqual(['Elicitation completed: action=decline, content={}']);
    });
  });

  it('the elicitation fixtures are isError results for a client without form elicitation', async () => {
    session = await connectInMemory({ capabilities: { elicitation: { url: {} } } });
    for (const [name, args] of [
      ['test_elicitation', { message: 'hi' }],
      ['test_elicitation_sep1034_defaults', {}],
      ['test_elicitation_sep1330_enums', {}],
    ] as const) {
      const result = await call(name, args);
      expect(result.isError).toBe(true);
      expect(texts(result)[0]).toContain('does not support form elicitation');
    }
    expect(sentRequests(session.sent, 'elicitation/create')).toHaveLength(0);
  });

  describe('json_schema_2020_12_tool', () => {
    beforeEach(async () => {
      session = await connectInMemory();
    });

    it('publishes its JSON Schema 2020-12 inputSchema exactly', async () => {
      const { tools } = await session.client.listTools();
      const tool = tools.find((candidate) => candidate.name === 'json_schema_2020_12_tool');
      expect(tool?.inputSchema).toEqual(JSON_SCHEMA_2020_12_INPUT_SCHEMA);
      expect(tool?.inputSchema).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $defs: { address: { $anchor: 'addressDef' } },
        additionalProperties: false,
        allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
        if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
        then: { required: ['phone'] },
        else: { required: ['email'] },
      });
    });

    it.each([
      [{ email: 'a@example.com' }],
      [{ name: 'Ada', contactMethod: 'phone', phone: '123', address: { city: 'London' } }],
      [{ contactMethod: 'email', email: 'a@example.com', phone: '1' }],
    ])('accepts arguments valid under the schema: %p', async (args) => {
      const result = await call('json_schema_2020_12_tool', args);
      expect(result.isError).toBeFalsy();
      const [text] = texts(result);
      expect(text).toMatch(/^json_schema_2020_12_tool received: /);
      expect(JSON.parse(text!.slice('json_schema_2020_12_tool received: '.length))).toEqual(args);
    });

    it.each([
      [{}, 'email'],
      [{ phone: '123' }, 'email'],
      [{ contactMethod: 'phone', email: 'a@example.com' }, 'phone'],
      [{ email: 'a@example.com', extra: true }, 'extra'],
      [{ email: 'a@example.com', contactMethod: 'fax' }, 'contactMethod'],
    ])('rejects arguments invalid under the schema: %p', async (args, named) => {
      const result = await call('json_schema_2020_12_tool', args);
      expect(result.isError).toBe(true);
      expect(texts(result)[0]).toContain(named);
    });
  });
});
