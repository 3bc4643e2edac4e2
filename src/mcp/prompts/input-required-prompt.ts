import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { PROMPT_ICONS } from '../icons.js';
import type { PromptDefinition } from './types.js';

/**
 * Conformance fixture (SEP-2322): a prompt that asks the user for context
 * (form elicitation, key user_context) before it is built: an input_required
 * round of prompts/get in the 2026-07-28 era, a request on the call's stream
 * in a session.
 */
export const inputRequiredPrompt: PromptDefinition = {
  prompt: {
    name: 'test_input_required_result_prompt',
    title: 'Test: Input Required (Prompt)',
    description: 'Conformance fixture (SEP-2322): asks the user what context the prompt should use, then quotes it',
    icons: PROMPT_ICONS,
  },
  get: async (_args, { ask }) => {
    const answer: ElicitResult = await ask(
      {
        method: 'elicitation/create',
        params: {
          mode: 'form',
          message: 'What context should the prompt use?',
          requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
        },
      },
      'user_context',
    );
    const context = answer.action === 'accept' ? String(answer.content?.context ?? '') : '(none given)';
    return { messages: [{ role: 'user', content: { type: 'text', text: `Prompt with context: ${context}` } }] };
  },
};
