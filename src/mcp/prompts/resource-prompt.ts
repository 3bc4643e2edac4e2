import { invalidParams, shorten } from '../errors.js';
import { PROMPT_ICONS } from '../icons.js';
import { STATIC_RESOURCE_COUNT, staticResourceById } from '../resources/static-resources.js';
import { requiredArgument, type PromptDefinition } from './types.js';

export const RESOURCE_PROMPT_NAME = 'resource_prompt';

/** Prompt arguments are strings; only a plain decimal 1..100 names a resource. */
function parseResourceId(value: string): number {
  const id = /^[0-9]{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(id >= 1 && id <= STATIC_RESOURCE_COUNT)) {
    throw invalidParams(`Invalid resourceId: ${shorten(value)}. Must be a number between 1 and ${STATIC_RESOURCE_COUNT}.`);
  }
  return id;
}

export const resourcePrompt: PromptDefinition = {
  prompt: {
    name: RESOURCE_PROMPT_NAME,
    title: 'Resource Prompt',
    description: 'A prompt that includes an embedded resource reference',
    icons: PROMPT_ICONS,
    arguments: [{ name: 'resourceId', description: 'Resource ID to include (1-100)', required: true }],
  },
  get(args) {
    const id = parseResourceId(requiredArgument(args, 'resourceId'));
    const resource = staticResourceById(id);
    if (!resource) throw invalidParams(`Invalid resourceId: ${id}`);
    return {
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `This prompt includes Resource ${id}. Please analyze the following resource:` },
        },
        { role: 'user', content: { type: 'resource', resource } },
      ],
    };
  },
};
