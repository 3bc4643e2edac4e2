import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { GetPromptRequestSchema, ListPromptsRequestSchema, type GetPromptResult, type ListPromptsResult } from '@modelcontextprotocol/sdk/types.js';
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
import type { PromptArguments, PromptContext, PromptDefinition } from './types.js';
import { sessionCallContext } from '../session-call-context.js';
import type { SessionControls } from '../session-features.js';
import { inputRequiredPrompt } from './input-required-prompt.js';

/** Building a prompt changes nothing in the session. */
const NO_CONTROLS: SessionControls = { stateChanged() {}, refreshTimers() {} };

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
    inputRequiredPrompt,
  ].map((definition) => [definition.prompt.name, definition]),
);

export const LIST_RESULT: ListPromptsResult = Object.freeze({
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

  server.setRequestHandler(GetPromptRequestSchema, (request, extra) => {
    const context = sessionCallContext({ server, state, controls: NO_CONTROLS, extra }, undefined);
    return getPrompt(findPrompt(state, request.params.name), request.params.name, request.params.arguments, context);
  });
}

/** prompts/get of a prompt found (or not) by name (both eras). */
export function getPrompt(
  definition: PromptDefinition | undefined,
  name: string,
  args: PromptArguments | undefined,
  context: PromptContext,
): GetPromptResult | Promise<GetPromptResult> {
  if (!definition) throw invalidParams(`Unknown prompt: ${shorten(name)}`);
  return definition.get(args ?? {}, context);
}
