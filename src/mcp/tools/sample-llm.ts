import type { CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ASKS_THE_CLIENT, defineTool, textResult } from './types.js';

export const MAX_SAMPLING_PROMPT_LENGTH = 10_000;
export const MAX_SAMPLING_TOKENS = 10_000;

export const sampleLLMTool = defineTool({
  name: 'sampleLLM',
  description: "Samples from an LLM using MCP's sampling feature",
  annotations: { title: 'Sample from the LLM', ...ASKS_THE_CLIENT },
  args: z.object({
    prompt: z.string().max(MAX_SAMPLING_PROMPT_LENGTH).describe('The prompt to send to the LLM'),
    maxTokens: z
      .number()
      .int()
      .min(1)
      .max(MAX_SAMPLING_TOKENS)
      .default(100)
      .describe(`Maximum number of tokens to generate (1-${MAX_SAMPLING_TOKENS})`),
  }),
  run: async ({ prompt, maxTokens }, { clientCapabilities, ask, requires }) => {
    const params: CreateMessageRequest['params'] = {
      messages: [{ role: 'user', content: { type: 'text', text: `Resource sampleLLM context: ${prompt}` } }],
      systemPrompt: 'You are a helpful test server.',
      maxTokens,
      temperature: 0.7,
    };
    // Since 2025-11-25 servers ask for context only from clients that declare they support it.
    const question = { method: 'sampling/createMessage', params } as const;
    requires(question);
    if (clientCapabilities?.sampling?.context) params.includeContext = 'thisServer';
    const result = await ask(question);
    const first = Array.isArray(result.content) ? result.content[0] : result.content;
    const text = first && first.type === 'text' ? first.text : JSON.stringify(result.content);
    return textResult(`LLM sampling result: ${text}`);
  },
});
