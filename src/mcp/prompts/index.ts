import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { GetPromptRequestSchema, ListPromptsRequestSchema, type ListPromptsResult } from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import { complexPrompt } from './complex-prompt.js';
import { resourcePrompt } from './resource-prompt.js';
import { simplePrompt } from './simple-prompt.js';
import type { PromptDefinition } from './types.js';

const PROMPTS: ReadonlyMap<string, PromptDefinition> = new Map(
  [simplePrompt, complexPrompt, resourcePrompt].map((definition) => [definition.prompt.name, definition]),
);

const LIST_RESULT: ListPromptsResult = Object.freeze({
  prompts: [...PROMPTS.values()].map((definition) => definition.prompt),
});

export function registerPromptHandlers(server: Server): void {
  server.setRequestHandler(ListPromptsRequestSchema, () => LIST_RESULT);

  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    const definition = PROMPTS.get(request.params.name);
    if (!definition) throw invalidParams(`Unknown prompt: ${shorten(request.params.name)}`);
    return definition.get(request.params.arguments ?? {});
  });
}
