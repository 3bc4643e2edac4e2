import { ErrorCode, type ElicitRequestFormParams, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { sleep } from './sleep.js';
import { ASKS_THE_CLIENT, DeliberateProtocolError, defineTool, READ_ONLY, textResult } from './types.js';

/**
 * Conformance fixtures of the tasks extension (2026-07-28,
 * `io.modelcontextprotocol/tasks`). A tool with task support runs as a task
 * when the client negotiated the extension, and as a plain call otherwise
 * (in a session: as a 2025-11-25 task when the call asks for one).
 */

export const MAX_SLOW_COMPUTE_SECONDS = 120;
const MAX_LABEL_LENGTH = 200;
const MAX_NAME_LENGTH = 200;

export const greetTool = defineTool({
  name: 'greet',
  description: 'Conformance fixture (tasks): greets by name, always at once (never a task)',
  annotations: { title: 'Greet', ...READ_ONLY },
  args: z.object({ name: z.string().max(MAX_NAME_LENGTH).describe('Who to greet') }),
  run: ({ name }) => textResult(`Hello, ${name}!`),
});

export const slowComputeTool = defineTool({
  name: 'slow_compute',
  description: `Conformance fixture (tasks): works for the given seconds (at most ${MAX_SLOW_COMPUTE_SECONDS}), then answers with its label; a task when the client negotiated tasks`,
  annotations: { title: 'Slow Compute', ...READ_ONLY },
  taskSupport: 'optional',
  args: z.object({
    seconds: z.number().min(0).max(MAX_SLOW_COMPUTE_SECONDS).describe('How long to work'),
    label: z.string().max(MAX_LABEL_LENGTH).default('compute').describe('A name for this piece of work'),
  }),
  run: async ({ seconds, label }, { signal }) => {
    if (!(await sleep(seconds * 1000, signal))) return textResult(`${label}: cancelled`);
    return textResult(`${label}: computed in ${seconds} s`);
  },
});

export const failingJobTool = defineTool({
  name: 'failing_job',
  description: 'Conformance fixture (tasks): must run as a task; after about a second it ends with a tool error (isError), not a protocol error',
  annotations: { title: 'Failing Job', ...READ_ONLY },
  taskSupport: 'required',
  args: z.object({}),
  run: async (_args, { signal }) => {
    await sleep(1000, signal);
    throw new Error('failing_job fails on purpose');
  },
});

export const protocolErrorJobTool = defineTool({
  name: 'protocol_error_job',
  description: 'Conformance fixture (tasks): ends with a protocol error (a task ends "failed" with the error inlined)',
  annotations: { title: 'Protocol Error Job', ...READ_ONLY },
  taskSupport: 'optional',
  args: z.object({}),
  run: async (_args, { signal }) => {
    await sleep(200, signal);
    throw new DeliberateProtocolError(ErrorCode.InternalError, 'protocol_error_job raises a protocol error on purpose');
  },
});

function confirmForm(message: string, fields: ElicitRequestFormParams['requestedSchema']['properties']) {
  const params: ElicitRequestFormParams = { mode: 'form', message, requestedSchema: { type: 'object', properties: fields } };
  return { method: 'elicitation/create', params } as const;
}

const accepted = (answer: ElicitResult) => answer.action === 'accept';

export const confirmDeleteTool = defineTool({
  name: 'confirm_delete',
  description: 'Conformance fixture (tasks): asks the user to confirm deleting a file (nothing is deleted), then reports the answer',
  annotations: { title: 'Confirm Delete', ...ASKS_THE_CLIENT },
  taskSupport: 'optional',
  args: z.object({ filename: z.string().max(MAX_NAME_LENGTH).describe('The file to (pretend to) delete') }),
  run: async ({ filename }, { ask }) => {
    const answer = await ask(confirmForm(`Delete ${filename}?`, { confirm: { type: 'boolean', description: 'Delete it' } }), 'confirm');
    const confirmed = accepted(answer) && answer.content?.confirm === true;
    return textResult(confirmed ? `Deleted ${filename} (not really: this is a demo).` : `Kept ${filename}.`);
  },
});

export const multiInputTool = defineTool({
  name: 'multi_input',
  description: 'Conformance fixture (tasks): asks two questions at once (first, second); each may be answered on its own',
  annotations: { title: 'Multiple Inputs', ...ASKS_THE_CLIENT },
  taskSupport: 'optional',
  args: z.object({}),
  run: async (_args, { askAll }) => {
    const answers = await askAll({
      first: confirmForm('First question: your name?', { name: { type: 'string' }, confirm: { type: 'boolean' } }),
      second: confirmForm('Second question: your name?', { name: { type: 'string' }, confirm: { type: 'boolean' } }),
    });
    const names = Object.values(answers).map((answer) => String((answer as ElicitResult).content?.name ?? 'unknown'));
    return textResult(`Answers: ${names.join(', ')}`);
  },
});

export const testToolWithTaskTool = defineTool({
  name: 'test_tool_with_task',
  description: 'Conformance fixture (tasks): asks for a name first (input_required, key name), then goes on as a task that greets it',
  annotations: { title: 'Test: Input Then Task', ...ASKS_THE_CLIENT },
  args: z.object({}),
  run: async (_args, { ask, continueAsTask }) => {
    const answer = await ask(confirmForm('What is your name?', { name: { type: 'string' } }), 'name');
    const name = accepted(answer) ? String(answer.content?.name ?? 'unknown') : 'unknown';
    return continueAsTask(async ({ signal }) => {
      await sleep(200, signal);
      return textResult(`Hello from the task, ${name}!`);
    });
  },
});

export const TASK_FIXTURE_TOOLS = [
  greetTool,
  slowComputeTool,
  failingJobTool,
  protocolErrorJobTool,
  confirmDeleteTool,
  multiInputTool,
  testToolWithTaskTool,
];
