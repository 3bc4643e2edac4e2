import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import type { PromptDefinition } from './types.js';

const RESULT: GetPromptResult = {
  messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }],
};

export const simplePrompt: PromptDefinition = {
  prompt: { name: 'simple_prompt', description: 'A prompt without arguments' },
  get: () => RESULT,
};
