import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { PROMPT_ICONS } from '../icons.js';
import type { PromptDefinition } from './types.js';

/** Listed and usable only in sessions that switched it on with toggle-dynamic-features. */
export const DYNAMIC_PROMPT_NAME = 'dynamic-prompt';

const RESULT: GetPromptResult = {
  messages: [
    {
      role: 'user',
      content: { type: 'text', text: 'This prompt exists only in sessions that added it with toggle-dynamic-features.' },
    },
  ],
};

export const dynamicPrompt: PromptDefinition = {
  prompt: {
    name: DYNAMIC_PROMPT_NAME,
    title: 'Dynamic Prompt',
    description: 'Exists only in sessions that switched it on with toggle-dynamic-features',
    icons: PROMPT_ICONS,
  },
  get: () => RESULT,
};
