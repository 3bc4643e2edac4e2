import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { GetPromptRequestSchema, ListPromptsRequestSchema, type ListPromptsResult } from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import type { SessionFeatureState } from '../session-features.js';
import { completablePrompt } from './completable-prompt.js';
import { complexPrompt } from './complex-prompt.js';
import {
  testPromptWithArguments,
  testPromptWithEmbeddedResource,
  testPromptWithImage,
  testSimplePrompt,
} from './conformance-prompts.js';
import { dynamicPrompt } from './dynamic-prompt.js';
import { resourcePrompt } from './resource-prompt.js';
import { simplePrompt } from './simple-prompt.js';
import type { PromptDefinition } from './types.js';

/** Set A (upstream-compatible) first, then set B, then the conformance fixtures (set C). */
export const PROMPTS: ReadonlyMap<string, PromptDefinition> = new Map(
  [
    simplePrompt,
    complexPrompt,
    resourcePrompt,
    completablePrompt,
    testSimplePrompt,
    testPromptWithArguments,
    testPromptWithEmbeddedResource,
    testPromptWithImage,
  ].map((definition) => [definition.prompt.name, definition]),
);

const LIST_RESULT: ListPromptsResult = Object.freeze({
  prompts: [...PROMPTS.values()].map((definition) => definition.prompt),
});

/** The listing of a session that switched on toggle-dynamic-features: shared, like the plain one. */
const LIST_RESULT_WITH_DYNAMIC: ListPromptsResult = Object.freeze({
  prompts: [...LIST_RESULT.prompts, dynamicPrompt.prompt],
});

function findPrompt(state: SessionFeatureState, name: string): PromptDefinition | undefined {
  if (state.dynamicFeatures === true && name === dynamicPrompt.prompt.name) return dynamicPrompt;
  return PROMPTS.get(name);
}

export function registerPromptHandlers(server: Server, state: SessionFeatureState): void {
  server.setRequestHandler(ListPromptsRequestSchema, () =>
    state.dynamicFeatures === true ? LIST_RESULT_WITH_DYNAMIC : LIST_RESULT,
  );

  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    const definition = findPrompt(state, request.params.name);
    if (!definition) throw invalidParams(`Unknown prompt: ${shorten(request.params.name)}`);
    return definition.get(request.params.arguments ?? {});
  });
}
