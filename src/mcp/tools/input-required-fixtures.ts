import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { AnswerTo, ClientQuestion } from '../call-context.js';
import { z } from 'zod';
import { ASKS_THE_CLIENT, defineTool, textResult } from './types.js';

/**
 * Conformance fixtures of multi round-trip requests (SEP-2322): tools that ask
 * the client under fixed keys. In the 2026-07-28 era each question is an
 * input_required round; in a session the same tools send server→client
 * requests on the call's stream, so they work in both eras.
 */

const NO_ARGUMENTS = z.object({});

type FormFields = ElicitRequestFormParams['requestedSchema']['properties'];

function form(message: string, properties: FormFields, required: string[]) {
  const params: ElicitRequestFormParams = {
    mode: 'form',
    message,
    requestedSchema: { type: 'object', properties, ...(required.length > 0 && { required }) },
  };
  return { method: 'elicitation/create', params } as const;
}

const NAME_QUESTION = form('What is your name?', { name: { type: 'string' } }, ['name']);

/** A field of an accepted form, as text; "unknown" when declined or absent. */
function field(answer: ElicitResult, name: string): string {
  const value = answer.action === 'accept' ? answer.content?.[name] : undefined;
  return value === undefined ? 'unknown' : String(value);
}

function samplingText(answer: AnswerTo<{ method: 'sampling/createMessage'; params: never }>): string {
  const first = Array.isArray(answer.content) ? answer.content[0] : answer.content;
  return first && first.type === 'text' ? first.text : JSON.stringify(answer.content);
}

function sampling(text: string, maxTokens: number) {
  return {
    method: 'sampling/createMessage',
    params: { messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens },
  } as const satisfies ClientQuestion;
}

export const testInputRequiredElicitationTool = defineTool({
  name: 'test_input_required_result_elicitation',
  description: 'Conformance fixture (SEP-2322): asks the user for a name (form elicitation, key user_name) and greets them',
  annotations: { title: 'Test: Input Required (Elicitation)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) => textResult(`Hello, ${field(await ask(NAME_QUESTION, 'user_name'), 'name')}!`),
});

export const testInputRequiredSamplingTool = defineTool({
  name: 'test_input_required_result_sampling',
  description: 'Conformance fixture (SEP-2322): asks the client to sample an answer (key sample_request) and returns it',
  annotations: { title: 'Test: Input Required (Sampling)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) =>
    textResult(`LLM response: ${samplingText(await ask(sampling('What is the capital of France?', 100), 'sample_request'))}`),
});

export const testInputRequiredListRootsTool = defineTool({
  name: 'test_input_required_result_list_roots',
  description: "Conformance fixture (SEP-2322): asks for the client's roots (key roots_request) and counts them",
  annotations: { title: 'Test: Input Required (Roots)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) => {
    const { roots } = await ask({ method: 'roots/list' }, 'roots_request');
    return textResult(`Found ${roots.length} root(s)`);
  },
});

const CONFIRM_QUESTION = form('Please confirm', { ok: { type: 'boolean' } }, ['ok']);

export const testInputRequiredRequestStateTool = defineTool({
  name: 'test_input_required_result_request_state',
  description: 'Conformance fixture (SEP-2322): asks for a confirmation (key confirm); the round carries sealed requestState',
  annotations: { title: 'Test: Input Required (Request State)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) => {
    const answer = await ask(CONFIRM_QUESTION, 'confirm');
    return textResult(`state-ok: requestState validated (confirmed: ${field(answer, 'ok')})`);
  },
});

export const testInputRequiredTamperedStateTool = defineTool({
  name: 'test_input_required_result_tampered_state',
  description: 'Conformance fixture (SEP-2322): asks for a confirmation (key confirm); a retry whose requestState was altered is refused',
  annotations: { title: 'Test: Input Required (Tampered State)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) => textResult(`Confirmed: ${field(await ask(CONFIRM_QUESTION, 'confirm'), 'ok')}`),
});

export const testInputRequiredMultipleInputsTool = defineTool({
  name: 'test_input_required_result_multiple_inputs',
  description: 'Conformance fixture (SEP-2322): asks three questions in one round: a name (user_name), a sampled greeting (greeting) and the roots (client_roots)',
  annotations: { title: 'Test: Input Required (Multiple Inputs)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { askAll }) => {
    const answers = await askAll<ClientQuestion>({
      user_name: NAME_QUESTION,
      greeting: sampling('Generate a greeting', 50),
      client_roots: { method: 'roots/list' },
    });
    const name = field(answers.user_name as ElicitResult, 'name');
    const greeting = samplingText(answers.greeting as AnswerTo<{ method: 'sampling/createMessage'; params: never }>);
    const roots = (answers.client_roots as AnswerTo<{ method: 'roots/list' }>).roots.length;
    return textResult(`Name: ${name}; Greeting: ${greeting}; Roots: ${roots}`);
  },
});

export const testInputRequiredMultiRoundTool = defineTool({
  name: 'test_input_required_result_multi_round',
  description: 'Conformance fixture (SEP-2322): two rounds: a name (step1), then a favourite colour (step2)',
  annotations: { title: 'Test: Input Required (Multi-Round)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { ask }) => {
    const name = field(await ask(form('Step 1: What is your name?', { name: { type: 'string' } }, ['name']), 'step1'), 'name');
    const color = field(await ask(form('Step 2: What is your favorite color?', { color: { type: 'string' } }, ['color']), 'step2'), 'color');
    return textResult(`Multi-round complete for ${name} who likes ${color}`);
  },
});

export const testInputRequiredCapabilitiesTool = defineTool({
  name: 'test_input_required_result_capabilities',
  description:
    'Conformance fixture (SEP-2322): asks only what the client declared it can answer: a form elicitation (elicit_input) and a sampling (sample_input)',
  annotations: { title: 'Test: Input Required (Capabilities)', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: async (_args, { clientCapabilities, askAll }) => {
    const questions: Record<string, ClientQuestion> = {};
    if (clientCapabilities?.elicitation) questions.elicit_input = form('Elicitation request', { value: { type: 'string' } }, []);
    if (clientCapabilities?.sampling) questions.sample_input = sampling('Sample request', 50);
    const answers = await askAll(questions);
    return textResult(`Answered: ${Object.keys(answers).join(', ') || 'nothing (the client declared neither elicitation nor sampling)'}`);
  },
});

export const INPUT_REQUIRED_FIXTURE_TOOLS = [
  testInputRequiredElicitationTool,
  testInputRequiredSamplingTool,
  testInputRequiredListRootsTool,
  testInputRequiredRequestStateTool,
  testInputRequiredTamperedStateTool,
  testInputRequiredMultipleInputsTool,
  testInputRequiredMultiRoundTool,
  testInputRequiredCapabilitiesTool,
];
