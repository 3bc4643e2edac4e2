import { ErrorCode, type CompleteRequest } from '@modelcontextprotocol/sdk/types.js';
import { expectMcpError } from '../../../test/support/mcp-errors.js';
import { complete } from '../completions.js';
import { connectInMemory, type InMemorySession } from '../../../test/support/in-memory-session.js';
import { TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';

let session: InMemorySession;
beforeEach(async () => {
  session = await connectInMemory();
});
afterEach(async () => session.close());

const invalidParams = (promise: Promise<unknown>) => expectMcpError(promise, ErrorCode.InvalidParams);

describe('conformance fixture prompts (set C)', () => {
  it('are listed with descriptions and their arguments', async () => {
    const { prompts } = await session.client.listPrompts();
    const byName = new Map(prompts.map((prompt) => [prompt.name, prompt]));
    expect(byName.get('test_simple_prompt')).toMatchObject({ description: expect.any(String) });
    expect(byName.get('test_prompt_with_arguments')?.arguments).toEqual([
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ]);
    expect(byName.get('test_prompt_with_embedded_resource')?.arguments).toEqual([
      { name: 'resourceUri', description: 'URI of the resource to embed', required: true },
    ]);
    expect(byName.get('test_prompt_with_image')).toMatchObject({ description: expect.any(String) });
  });

  it('test_simple_prompt returns one user message', async () => {
    expect((await session.client.getPrompt({ name: 'test_simple_prompt' })).messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } },
    ]);
  });

  it('test_prompt_with_arguments quotes both arguments', async () => {
    const result = await session.client.getPrompt({
      name: 'test_prompt_with_arguments',
      arguments: { arg1: 'hello', arg2: 'world' },
    });
    expect(result.messages).toEqual([
      { role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='hello', arg2='world'" } },
    ]);
  });

  it('test_prompt_with_arguments without arg2 is InvalidParams naming it', async () => {
    const error = await invalidParams(session.client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'a' } }));
    expect(error.message).toContain('Missing required argument: arg2');
  });

  it('test_prompt_with_embedded_resource embeds a text resource under the given URI, then asks to process it', async () => {
    const result = await session.client.getPrompt({
      name: 'test_prompt_with_embedded_resource',
      arguments: { resourceUri: 'test://example-resource' },
    });
    expect(result.messages).toEqual([
      {
        role: 'user',
        content: {
          type: 'resource',
          resource: { uri: 'test://example-resource', mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
        },
      },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ]);
  });

  it.each(['not a uri', `test://${'x'.repeat(2050)}`])('test_prompt_with_embedded_resource rejects the URI %#', async (resourceUri) => {
    const error = await invalidParams(
      session.client.getPrompt({ name: 'test_prompt_with_embedded_resource', arguments: { resourceUri } }),
    );
    expect(error.message).toContain('Invalid resourceUri');
    expect(error.message.length).toBeLessThan(300);
  });

  it('test_prompt_with_image returns the PNG, then a text', async () => {
    expect((await session.client.getPrompt({ name: 'test_prompt_with_image' })).messages).toEqual([
      { role: 'user', content: { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ]);
  });
});

describe('completable-prompt and completions with context (set B)', () => {
  const ref = { type: 'ref/prompt' as const, name: 'completable-prompt' };

  async function completeName(value: string, context?: Record<string, string>) {
    const request: CompleteRequest['params'] = { ref, argument: { name: 'name', value } };
    if (context) request.context = { arguments: context };
    return (await session.client.complete(request)).completion;
  }

  it('is listed with its two required arguments', async () => {
    const { prompts } = await session.client.listPrompts();
    expect(prompts.find((prompt) => prompt.name === 'completable-prompt')?.arguments?.map((a) => [a.name, a.required])).toEqual([
      ['department', true],
      ['name', true],
    ]);
  });

  it('completes department by prefix, ignoring case', async () => {
    const { completion } = await session.client.complete({ ref, argument: { name: 'department', value: 's' } });
    expect(completion.values).toEqual(['Sales', 'Support']);
  });

  it("completes name from the department given in context.arguments", async () => {
    expect((await completeName('', { department: 'Engineering' })).values).toEqual(['Ada', 'Alan', 'Grace', 'Linus']);
    expect((await completeName('a', { department: 'Engineering' })).values).toEqual(['Ada', 'Alan']);
    expect((await completeName('a', { department: 'sales' })).values).toEqual(['Alice']);
  });

  it('offers everybody without a department, and nobody for an unknown one', async () => {
    expect((await completeName('a')).values).toEqual(['Ada', 'Alan', 'Alice', 'Amelia']);
    expect((await completeName('', { department: 'Legal' }))).toEqual({ values: [], total: 0, hasMore: false });
  });

  it('builds the message from both arguments', async () => {
    const result = await session.client.getPrompt({ name: 'completable-prompt', arguments: { department: 'Sales', name: 'Bob' } });
    expect(result.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'Please write a short welcome note for Bob, who has just joined Sales.' } },
    ]);
  });

  it('completes the conformance prompt and template arguments', () => {
    expect(
      complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'test' } })
        .completion.values,
    ).toEqual(['test', 'testValue1']);
    expect(
      complete({ ref: { type: 'ref/resource', uri: 'test://template/{id}/data' }, argument: { name: 'id', value: '1' } }).completion
        .values,
    ).toEqual(['1', '123']);
  });
});
