import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CompleteRequestSchema, type CompleteRequest, type CompleteResult } from '@modelcontextprotocol/sdk/types.js';
import { COMPLETABLE_PROMPT_NAME, DEPARTMENTS, staffFor } from './prompts/completable-prompt.js';
import { COMPLEX_PROMPT_NAME } from './prompts/complex-prompt.js';
import { TEST_PROMPT_WITH_ARGUMENTS_NAME } from './prompts/conformance-prompts.js';
import { RESOURCE_PROMPT_NAME } from './prompts/resource-prompt.js';
import { FIXTURE_TEMPLATE_URI_TEMPLATE } from './resources/conformance-resources.js';
import { STATIC_RESOURCE_COUNT, STATIC_RESOURCE_TEMPLATE } from './resources/static-resources.js';

/** The spec caps one completion response at 100 values. */
export const MAX_COMPLETION_VALUES = 100;

const RESOURCE_IDS: readonly string[] = Array.from({ length: STATIC_RESOURCE_COUNT }, (_, index) => String(index + 1));

type Params = CompleteRequest['params'];
/** Candidates for one argument; `context` holds the arguments the client already resolved. */
type CandidateSource = readonly string[] | ((context: Readonly<Record<string, string>> | undefined) => readonly string[]);

/** Candidates per "<ref kind>:<ref name or uri>:<argument>". */
const CANDIDATES: ReadonlyMap<string, CandidateSource> = new Map<string, CandidateSource>([
  [`ref/prompt:${COMPLEX_PROMPT_NAME}:temperature`, ['0', '0.5', '0.7', '1.0']],
  [`ref/prompt:${COMPLEX_PROMPT_NAME}:style`, ['casual', 'formal', 'technical', 'friendly']],
  [`ref/prompt:${RESOURCE_PROMPT_NAME}:resourceId`, RESOURCE_IDS],
  [`ref/resource:${STATIC_RESOURCE_TEMPLATE.uriTemplate}:id`, RESOURCE_IDS],
  // Completions with context: the names offered depend on the department already chosen.
  [`ref/prompt:${COMPLETABLE_PROMPT_NAME}:department`, DEPARTMENTS],
  [`ref/prompt:${COMPLETABLE_PROMPT_NAME}:name`, staffFor],
  [`ref/prompt:${TEST_PROMPT_WITH_ARGUMENTS_NAME}:arg1`, ['hello', 'test', 'testValue1']],
  [`ref/prompt:${TEST_PROMPT_WITH_ARGUMENTS_NAME}:arg2`, ['world', 'test', 'testValue2']],
  [`ref/resource:${FIXTURE_TEMPLATE_URI_TEMPLATE}:id`, ['1', '2', '3', '123']],
]);

function candidateKey({ ref, argument }: Params): string {
  const target = ref.type === 'ref/prompt' ? ref.name : ref.uri;
  return `${ref.type}:${target}:${argument.name}`;
}

/**
 * Values of the referenced argument that start with what the user typed so
 * far, ignoring case. Arguments already resolved (`context.arguments`) narrow
 * the candidates where one argument depends on another.
 */
export function complete(params: Params): CompleteResult {
  const source = CANDIDATES.get(candidateKey(params));
  const candidates = typeof source === 'function' ? source(params.context?.arguments) : (source ?? []);
  const typed = params.argument.value.toLowerCase();
  const matches = candidates.filter((value) => value.toLowerCase().startsWith(typed));
  const values = matches.slice(0, MAX_COMPLETION_VALUES);
  return { completion: { values, total: matches.length, hasMore: matches.length > values.length } };
}

export function registerCompletionHandler(server: Server): void {
  server.setRequestHandler(CompleteRequestSchema, (request) => complete(request.params));
}
