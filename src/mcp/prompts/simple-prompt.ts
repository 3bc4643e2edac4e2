import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { PROMPT_ICONS } from '../icons.js';
import type { PromptDefinition } from './types.js';

const RESULT: GetPromptResult = {
  messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }],
};

export const simplePrompt: PromptDefinition = {
  prompt: { name: 'simple_prompt', title: 'Simple Prompt', description: 'A prompt without arguments', icons: PROMPT_ICONS },
  get: () => RESULT,
};
