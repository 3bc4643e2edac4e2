import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CompleteRequestSchema, type CompleteRequest, type CompleteResult } from '@modelcontextprotocol/sdk/types.js';
import { COMPLEX_PROMPT_NAME } from './prompts/complex-prompt.js';
import { RESOURCE_PROMPT_NAME } from './prompts/resource-prompt.js';
import { STATIC_RESOURCE_COUNT, STATIC_RESOURCE_TEMPLATE } from './resources/static-resources.js';

/** The spec caps one completion response at 100 values. */
export const MAX_COMPLETION_VALUES = 100;

const RESOURCE_IDS: readonly string[] = Array.from({ length: STATIC_RESOURCE_COUNT }, (_, index) => String(index + 1));

/** Candidates per "<ref kind>:<ref name or uri>:<argument>". */
const CANDIDATES: ReadonlyMap<string, readonly string[]> = new Map([
  [`ref/prompt:${COMPLEX_PROMPT_NAME}:temperature`, ['0', '0.5', '0.7', '1.0']],
  [`ref/prompt:${COMPLEX_PROMPT_NAME}:style`, ['casual', 'formal', 'technical', 'friendly']],
  [`ref/prompt:${RESOURCE_PROMPT_NAME}:resourceId`, RESOURCE_IDS],
  [`ref/resource:${STATIC_RESOURCE_TEMPLATE.uriTemplate}:id`, RESOURCE_IDS],
]);

function candidateKey({ ref, argument }: CompleteRequest['params']): string {
  const target = ref.type === 'ref/prompt' ? ref.name : ref.uri;
  return `${ref.type}:${target}:${argument.name}`;
}

/** Values of the referenced argument that start with what the user typed so far. */
export function complete(params: CompleteRequest['params']): CompleteResult {
  const candidates = CANDIDATES.get(candidateKey(params)) ?? [];
  const matches = candidates.filter((value) => value.startsWith(params.argument.value));
  const values = matches.slice(0, MAX_COMPLETION_VALUES);
  return { completion: { values, total: matches.length, hasMore: matches.length > values.length } };
}

export function registerCompletionHandler(server: Server): void {
  server.setRequestHandler(CompleteRequestSchema, (request) => complete(request.params));
}
