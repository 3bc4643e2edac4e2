import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { CallContext } from '../call-context.js';
import { invalidParams } from '../errors.js';

/** What a prompt may ask of the client while it is built (both eras). */
export type PromptContext = Pick<CallContext, 'ask' | 'askAll' | 'requires' | 'clientCapabilities' | 'signal'>;

export type PromptArguments = Readonly<Record<string, string>>;

export interface PromptDefinition {
  /** What prompts/list shows; shared by every session. */
  readonly prompt: Prompt;
  /** Builds the messages; throws McpError InvalidParams for bad arguments. */
  get(args: PromptArguments, context: PromptContext): GetPromptResult | Promise<GetPromptResult>;
}

/** Longest argument value a prompt accepts, so nothing huge is echoed back. */
export const MAX_PROMPT_ARGUMENT_LENGTH = 10_000;

/** The value of a required argument, or an InvalidParams error naming it. */
export function requiredArgument(args: PromptArguments, name: string): string {
  const value = args[name];
  if (value === undefined) throw invalidParams(`Missing required argument: ${name}`);
  return checkedLength(name, value);
}

export function optionalArgument(args: PromptArguments, name: string): string | undefined {
  const value = args[name];
  return value === undefined ? undefined : checkedLength(name, value);
}

function checkedLength(name: string, value: string): string {
  if (value.length > MAX_PROMPT_ARGUMENT_LENGTH) {
    throw invalidParams(`Argument ${name} is too long (at most ${MAX_PROMPT_ARGUMENT_LENGTH} characters)`);
  }
  return value;
}
