import { ErrorCode, type CompleteRequest } from '@modelcontextprotocol/sdk/types.js';
import { expectMcpError } from '../../test/support/mcp-errors.js';
import { PROMPT_ICONS } from './icons.js';
import { connectInMemory, type InMemorySession } from '../../test/support/in-memory-session.js';
import { TINY_IMAGE_PNG_BASE64 } from './tiny-image.js';

const expectInvalidParams = (promise: Promise<unknown>) => expectMcpError(promise, ErrorCode.InvalidParams);

let session: InMemorySession;
beforeEach(async () => {
  session = await connectInMemory();
});
afterEach(async () => session.close());

describe('prompts', () => {
  it('lists the three upstream-compatible prompts first, with their arguments', async () => {
    const { prompts } = await session.client.listPrompts();
    expect(prompts.slice(0, 3)).toEqual([
      { name: 'simple_prompt', title: 'Simple Prompt', description: 'A prompt without arguments', icons: PROMPT_ICONS },
      {
        name: 'complex_prompt',
        title: 'Complex Prompt',
        description: 'A prompt with arguments',
        icons: PROMPT_ICONS,
        arguments: [
          { name: 'temperature', description: 'Temperature setting', required: true },
          { name: 'style', description: 'Output style', required: false },
        ],
      },
      {
        name: 'resource_prompt',
        title: 'Resource Prompt',
        description: 'A prompt that includes an embedded resource reference',
        icons: PROMPT_ICONS,
        arguments: [{ name: 'resourceId', description: 'Resource ID to include (1-100)', required: true }],
      },
    ]);
  });

  it('simple_prompt returns one user message', async () => {
    const result = await session.client.getPrompt({ name: 'simple_prompt' });
    expect(result.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } },
    ]);
  });

  it('complex_prompt echoes its arguments and ends with the image', async () => {
    const result = await session.client.getPrompt({
      name: 'complex_prompt',
      arguments: { temperature: '0.7', style: 'formal' },
    });
    expect(result.messages).toEqual([
      {
        role: 'user',
        content: { type: 'text', text: 'This is a complex prompt with arguments: temperature=0.7, style=formal' },
      },
      {
        role: 'assistant',
        content: {
          type: 'text',
          text: "I understand. You've provided a complex prompt with temperature and style arguments. How would you like me to proceed?",
        },
      },
      { role: 'user', content: { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: 'image/png' } },
    ]);
  });

  it('complex_prompt accepts a missing style', async () => {
    const result = await session.client.getPrompt({ name: 'complex_prompt', arguments: { temperature: '1.0' } });
    expect(result.messages[0]?.content).toEqual({
      type: 'text',
      text: 'This is a complex prompt with arguments: temperature=1.0, style=undefined',
    });
  });

  it('complex_prompt without temperature is InvalidParams naming it', async () => {
    const error = await expectInvalidParams(
      session.client.getPrompt({ name: 'complex_prompt', arguments: { style: 'casual' } }),
    );
    expect(error.message).toContain('Missing required argument: temperature');
  });

  it('resource_prompt embeds the requested resource', async () => {
    const result = await session.client.getPrompt({ name: 'resource_prompt', arguments: { resourceId: '5' } });
    expect(result.messages).toEqual([
      {
        role: 'user',
        content: { type: 'text', text: 'This prompt includes Resource 5. Please analyze the following resource:' },
      },
      {
        role: 'user',
        content: {
          type: 'resource',
          resource: {
            uri: 'test://static/resource/5',
            mimeType: 'text/plain',
            text: 'Resource 5: This is a plaintext resource',
          },
        },
      },
    ]);
  });

  it.each(['0', '101', 'abc', '5abc', '-1', '1.5', ''])('resource_prompt rejects resourceId %p', async (resourceId) => {
    const error = await expectInvalidParams(
      session.client.getPrompt({ name: 'resource_prompt', arguments: { resourceId } }),
    );
    expect(error.message).toContain('Invalid resourceId');
  });

  it('resource_prompt without resourceId is InvalidParams', async () => {
    const error = await expectInvalidParams(session.client.getPrompt({ name: 'resource_prompt' }));
    expect(error.message).toContain('Missing required argument: resourceId');
  });

  it('an unknown prompt is InvalidParams', async () => {
    const error = await expectInvalidParams(session.client.getPrompt({ name: 'no_such_prompt' }));
    expect(error.message).toContain('Unknown prompt: no_such_prompt');
  });
});

describe('completions', () => {
  const promptRef = (name: string) => ({ type: 'ref/prompt' as const, name });
  const templateRef = { type: 'ref/resource' as const, uri: 'test://static/resource/{id}' };

  async function complete(ref: CompleteRequest['params']['ref'], name: string, value: string) {
    const { completion } = await session.client.complete({ ref, argument: { name, value } });
    return completion;
  }

  it('completes complex_prompt style by prefix', async () => {
    const completion = await complete(promptRef('complex_prompt'), 'style', 'f');
    expect(completion).toEqual({ values: ['formal', 'friendly'], total: 2, hasMore: false });
  });

  it('completes complex_prompt temperature by prefix', async () => {
    expect((await complete(promptRef('complex_prompt'), 'temperature', '0')).values).toEqual(['0', '0.5', '0.7']);
    expect((await complete(promptRef('complex_prompt'), 'temperature', '')).values).toEqual(['0', '0.5', '0.7', '1.0']);
  });

  it('completes resource_prompt resourceId over all 100 ids', async () => {
    const all = await complete(promptRef('resource_prompt'), 'resourceId', '');
    expect(all.values).toHaveLength(100);
    expect(all.hasMore).toBe(false);
    const ones = await complete(promptRef('resource_prompt'), 'resourceId', '1');
    expect(ones.values).toEqual(['1', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '100']);
  });

  it("completes the resource template's id", async () => {
    const completion = await complete(templateRef, 'id', '9');
    expect(completion.values).toEqual(['9', '90', '91', '92', '93', '94', '95', '96', '97', '98', '99']);
    expect(await complete(templateRef, 'id', '7x')).toEqual({ values: [], total: 0, hasMore: false });
  });

  it.each([
    [promptRef('simple_prompt'), 'style'],
    [promptRef('no_such_prompt'), 'style'],
    [promptRef('complex_prompt'), 'resourceId'],
    [{ type: 'ref/resource' as const, uri: 'test://other/{id}' }, 'id'],
  ])('returns no values for an unknown reference (case %#)', async (ref, name) => {
    expect((await complete(ref, name, '')).values).toEqual([]);
  });
});
