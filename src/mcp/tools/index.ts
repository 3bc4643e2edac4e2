import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  ListToolsRequestSchema,
  type ListToolsResult,
} from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import type { SessionControls, SessionFeatureState } from '../session-features.js';
import { addTool } from './add.js';
import { annotatedMessageTool } from './annotated-message.js';
import {
  testElicitationDefaultsTool,
  testElicitationEnumsTool,
  testElicitationTool,
  testSamplingTool,
} from './conformance-client-requests.js';
import {
  testAudioContentTool,
  testEmbeddedResourceTool,
  testErrorHandlingTool,
  testImageContentTool,
  testMultipleContentTypesTool,
  testSimpleTextTool,
} from './conformance-content.js';
import { testReconnectionTool, testToolWithLoggingTool, testToolWithProgressTool } from './conformance-notifications.js';
import { DYNAMIC_TOOL_NAME, dynamicTool, toggleDynamicFeaturesTool } from './dynamic-features.js';
import { echoTool } from './echo.js';
import { INPUT_REQUIRED_FIXTURE_TOOLS } from './input-required-fixtures.js';
import { STATELESS_FIXTURE_TOOLS } from './stateless-fixtures.js';
import { TASK_FIXTURE_TOOLS } from './task-fixtures.js';
import { elicitInputsTool } from './elicit-inputs.js';
import { getResourceLinksTool } from './get-resource-links.js';
import { getResourceReferenceTool } from './get-resource-reference.js';
import { getRootsListTool } from './get-roots-list.js';
import { getStructuredContentTool } from './get-structured-content.js';
import { getTinyAudioTool } from './get-tiny-audio.js';
import { getTinyImageTool } from './get-tiny-image.js';
import { jsonSchema202012Tool } from './json-schema-2020-12.js';
import { longRunningOperationTool } from './long-running-operation.js';
import { sampleLLMTool } from './sample-llm.js';
import { toggleSimulatedLoggingTool, toggleSubscriberUpdatesTool } from './toggles.js';
import { triggerUrlElicitationTool } from './trigger-url-elicitation.js';
import { startToolTask } from '../tasks.js';
import { sessionCallContext } from '../session-call-context.js';
import type { ToolDefinition } from './types.js';
import { observed } from '../../observability/observed-call.js';
import type { CallObserver } from '../../observability/metrics.js';

/** Set A: upstream-compatible (example-remote-server). */
export const SET_A_TOOLS: readonly ToolDefinition[] = [
  echoTool,
  addTool,
  longRunningOperationTool,
  sampleLLMTool,
  getTinyImageTool,
  annotatedMessageTool,
  getResourceReferenceTool,
  elicitInputsTool,
];

/** Set B: features of the current everything server (dynamic-tool is listed per session, see below). */
export const SET_B_TOOLS: readonly ToolDefinition[] = [
  getStructuredContentTool,
  getResourceLinksTool,
  getTinyAudioTool,
  getRootsListTool,
  triggerUrlElicitationTool,
  toggleSimulatedLoggingTool,
  toggleSubscriberUpdatesTool,
  toggleDynamicFeaturesTool,
];

/** Set C: the fixtures of the official conformance suite. */
export const SET_C_TOOLS: readonly ToolDefinition[] = [
  testSimpleTextTool,
  testImageContentTool,
  testAudioContentTool,
  testEmbeddedResourceTool,
  testMultipleContentTypesTool,
  testToolWithLoggingTool,
  testToolWithProgressTool,
  testErrorHandlingTool,
  testSamplingTool,
  testElicitationTool,
  testElicitationDefaultsTool,
  testElicitationEnumsTool,
  testReconnectionTool,
  jsonSchema202012Tool,
  ...STATELESS_FIXTURE_TOOLS,
  ...INPUT_REQUIRED_FIXTURE_TOOLS,
  ...TASK_FIXTURE_TOOLS,
];

/** Every tool every session has, by name. */
export const TOOLS: ReadonlyMap<string, ToolDefinition> = new Map(
  [...SET_A_TOOLS, ...SET_B_TOOLS, ...SET_C_TOOLS].map((definition) => [definition.tool.name, definition]),
);

export const LIST_RESULT: ListToolsResult = Object.freeze({
  tools: [...TOOLS.values()].map((definition) => definition.tool),
});

/** The listing of a session that switched on toggle-dynamic-features: shared, like the plain one. */
const LIST_RESULT_WITH_DYNAMIC: ListToolsResult = Object.freeze({
  tools: [...LIST_RESULT.tools, dynamicTool.tool],
});

function findTool(state: SessionFeatureState, name: string): ToolDefinition | undefined {
  if (state.dynamicFeatures === true && name === DYNAMIC_TOOL_NAME) return dynamicTool;
  return TOOLS.get(name);
}

export function registerToolHandlers(server: Server, state: SessionFeatureState, controls: SessionControls, calls?: CallObserver): void {
  server.setRequestHandler(ListToolsRequestSchema, () => (state.dynamicFeatures === true ? LIST_RESULT_WITH_DYNAMIC : LIST_RESULT));

  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const { name, arguments: args, _meta } = request.params;
    const definition = findTool(state, name);
    // Per spec an unknown tool is a protocol error, unlike bad arguments to a known one.
    if (!definition) throw invalidParams(`Unknown tool: ${shorten(name)}`);
    const session = { server, state, controls, extra };
    if (request.params.task) {
      calls?.toolCall(name, 'session', 'task', 0);
      return startToolTask(definition, args ?? {}, session, _meta?.progressToken, request.params.task);
    }
    if (definition.taskSupport === 'required') {
      throw new McpError(ErrorCode.MethodNotFound, `Tool ${name} must be called as a task`);
    }
    return observed(calls, name, 'session', () => definition.call(args ?? {}, sessionCallContext(session, _meta?.progressToken)));
  });
}
