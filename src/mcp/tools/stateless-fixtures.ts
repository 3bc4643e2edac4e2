import { z } from 'zod';
import { ASKS_THE_CLIENT, defineTool, READ_ONLY, SESSION_SWITCH, textResult } from './types.js';

/**
 * Conformance fixtures of the 2026-07-28 revision (SEP-2575): a capability
 * the client must declare, a streamed answer, logging that follows the
 * request's level, and list changes for subscriptions/listen streams. They
 * behave the same in a session, where list changes go to the standalone stream.
 */

const NO_ARGUMENTS = z.object({});

export const testMissingCapabilityTool = defineTool({
  name: 'test_missing_capability',
  description:
    'Conformance fixture (SEP-2575): needs the client capability sampling; without it the request fails with -32021 (2026-07-28) or the tool reports it (sessions)',
  annotations: { title: 'Test: Missing Capability', ...ASKS_THE_CLIENT },
  args: NO_ARGUMENTS,
  run: (_args, { requires }) => {
    requires({ method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } });
    return textResult('Success');
  },
});

export const testStreamingElicitationTool = defineTool({
  name: 'test_streaming_elicitation',
  description:
    "Conformance fixture (SEP-2575): answers on an event stream with notifications before its result, and never sends the client a request on it",
  annotations: { title: 'Test: Streaming', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: async (_args, { progress, log }) => {
    await progress(1, 2, 'Streaming');
    await log('info', 'Streaming a result');
    await progress(2, 2, 'Streamed');
    return textResult('Streaming complete');
  },
});

export const testLoggingTool = defineTool({
  name: 'test_logging_tool',
  description:
    "Conformance fixture (SEP-2575): logs at every level; a 2026-07-28 request receives only what its _meta log level admits (nothing without one)",
  annotations: { title: 'Test: Logging', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: async (_args, { log }) => {
    for (const level of ['debug', 'info', 'warning', 'error'] as const) await log(level, `A ${level} message from test_logging_tool`);
    return textResult('Logging evaluated');
  },
});

export const testTriggerToolChangeTool = defineTool({
  name: 'test_trigger_tool_change',
  description: 'Conformance fixture (SEP-2575): announces notifications/tools/list_changed to every listener (the list itself stays the same)',
  annotations: { title: 'Test: Trigger Tool List Change', ...SESSION_SWITCH },
  args: NO_ARGUMENTS,
  run: async (_args, { listChanged }) => {
    await listChanged('tools');
    return textResult('Mutation triggered');
  },
});

export const testTriggerPromptChangeTool = defineTool({
  name: 'test_trigger_prompt_change',
  description: 'Conformance fixture (SEP-2575): announces notifications/prompts/list_changed to every listener (the list itself stays the same)',
  annotations: { title: 'Test: Trigger Prompt List Change', ...SESSION_SWITCH },
  args: NO_ARGUMENTS,
  run: async (_args, { listChanged }) => {
    await listChanged('prompts');
    return textResult('Mutation triggered');
  },
});

export const MAX_HEADER_PARAM_LENGTH = 1_000;

export const testHeaderParamTool = defineTool({
  name: 'test_header_param',
  description:
    'Conformance fixture (SEP-2243): echoes its value argument, which a 2026-07-28 request must repeat in the Mcp-Param-Value header (checked by the server)',
  annotations: { title: 'Test: Header Parameter', ...READ_ONLY },
  args: z.object({ value: z.string().max(MAX_HEADER_PARAM_LENGTH) }),
  inputSchema: {
    type: 'object',
    properties: {
      value: { type: 'string', maxLength: MAX_HEADER_PARAM_LENGTH, description: 'Any text; also sent as Mcp-Param-Value', 'x-mcp-header': 'Value' },
    },
    required: ['value'],
  },
  run: ({ value }) => textResult(`Header parameter: ${value}`),
});

export const STATELESS_FIXTURE_TOOLS = [
  testMissingCapabilityTool,
  testStreamingElicitationTool,
  testLoggingTool,
  testTriggerToolChangeTool,
  testTriggerPromptChangeTool,
  testHeaderParamTool,
];
