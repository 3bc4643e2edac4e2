import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ASKS_THE_CLIENT, defineTool, textResult } from './types.js';

/**
 * Conformance fixtures that ask the client something mid-call: sampling and
 * three form elicitations (plain, SEP-1034 defaults, SEP-1330 enum variants).
 * Each request travels on the tools/call's own stream.
 */

export const MAX_FIXTURE_PROMPT_LENGTH = 10_000;
export const MAX_FIXTURE_MESSAGE_LENGTH = 1_000;
export const FIXTURE_SAMPLING_MAX_TOKENS = 100;

export const testSamplingTool = defineTool({
  name: 'test_sampling',
  description: 'Conformance fixture: sends the prompt to the client as sampling/createMessage and returns the answer',
  annotations: { title: 'Test: Sampling', ...ASKS_THE_CLIENT },
  args: z.object({
    prompt: z.string().max(MAX_FIXTURE_PROMPT_LENGTH).describe('The prompt to send to the LLM'),
  }),
  run: async ({ prompt }, { ask }) => {
    const result = await ask({
      method: 'sampling/createMessage',
      params: {
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: FIXTURE_SAMPLING_MAX_TOKENS,
      },
    });
    const first = Array.isArray(result.content) ? result.content[0] : result.content;
    const text = first && first.type === 'text' ? first.text : JSON.stringify(result.content);
    return textResult(`LLM response: ${text}`);
  },
});

function describeElicitation(result: ElicitResult): string {
  return `action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
}

function formElicitationTool(options: {
  name: string;
  title: string;
  description: string;
  args: z.ZodObject;
  message: (args: Record<string, unknown>) => string;
  requestedSchema: ElicitRequestFormParams['requestedSchema'];
  resultPrefix: string;
}) {
  return defineTool({
    name: options.name,
    description: options.description,
    annotations: { title: options.title, ...ASKS_THE_CLIENT },
    args: options.args,
    run: async (args, { ask }) => {
      const params: ElicitRequestFormParams = { mode: 'form', message: options.message(args), requestedSchema: options.requestedSchema };
      const result = await ask({ method: 'elicitation/create', params });
      return textResult(`${options.resultPrefix}${describeElicitation(result)}`);
    },
  });
}

export const testElicitationTool = formElicitationTool({
  name: 'test_elicitation',
  title: 'Test: Elicitation',
  description: 'Conformance fixture: asks the user, through a form elicitation, for a username and an email address',
  args: z.object({
    message: z.string().max(MAX_FIXTURE_MESSAGE_LENGTH).describe('The message to show the user'),
  }),
  message: (args) => String(args.message),
  requestedSchema: {
    type: 'object',
    properties: {
      username: { type: 'string', description: "User's response" },
      email: { type: 'string', description: "User's email address" },
    },
    required: ['username', 'email'],
  },
  resultPrefix: 'User response: ',
});

export const testElicitationDefaultsTool = formElicitationTool({
  name: 'test_elicitation_sep1034_defaults',
  title: 'Test: Elicitation Defaults (SEP-1034)',
  description:
    'Conformance fixture (SEP-1034): a form elicitation with a default value for every primitive type (string, integer, number, enum, boolean)',
  args: z.object({}),
  message: () => 'Please review the pre-filled fields and change any you like',
  requestedSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'Your name', default: 'John Doe' },
      age: { type: 'integer', description: 'Your age', default: 30 },
      score: { type: 'number', description: 'Your score', default: 95.5 },
      status: {
        type: 'string',
        description: 'Your status',
        enum: ['active', 'inactive', 'pending'],
        default: 'active',
      },
      verified: { type: 'boolean', description: 'Whether you are verified', default: true },
    },
  },
  resultPrefix: 'Elicitation completed: ',
});

export const testElicitationEnumsTool = formElicitationTool({
  name: 'test_elicitation_sep1330_enums',
  title: 'Test: Elicitation Enums (SEP-1330)',
  description:
    'Conformance fixture (SEP-1330): a form elicitation with each enum variant: untitled and titled single-select, legacy enumNames, untitled and titled multi-select',
  args: z.object({}),
  message: () => 'Please choose from each list',
  requestedSchema: {
    type: 'object',
    properties: {
      untitledSingle: {
        type: 'string',
        description: 'Pick one',
        enum: ['option1', 'option2', 'option3'],
      },
      titledSingle: {
        type: 'string',
        description: 'Pick one (titled)',
        oneOf: [
          { const: 'value1', title: 'First Option' },
          { const: 'value2', title: 'Second Option' },
          { const: 'value3', title: 'Third Option' },
        ],
      },
      legacyEnum: {
        type: 'string',
        description: 'Pick one (legacy enumNames)',
        enum: ['opt1', 'opt2', 'opt3'],
        enumNames: ['Option One', 'Option Two', 'Option Three'],
      },
      untitledMulti: {
        type: 'array',
        description: 'Pick any',
        minItems: 1,
        maxItems: 3,
        items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
      },
      titledMulti: {
        type: 'array',
        description: 'Pick any (titled)',
        minItems: 1,
        maxItems: 3,
        items: {
          anyOf: [
            { const: 'value1', title: 'First Choice' },
            { const: 'value2', title: 'Second Choice' },
            { const: 'value3', title: 'Third Choice' },
          ],
        },
      },
    },
  },
  resultPrefix: 'Elicitation completed: ',
});
