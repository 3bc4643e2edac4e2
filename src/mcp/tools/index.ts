import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type ListToolsResult,
} from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import type { SessionFeatureState } from '../session-features.js';
import { addTool } from './add.js';
import { annotatedMessageTool } from './annotated-message.js';
import { echoTool } from './echo.js';
import { elicitInputsTool } from './elicit-inputs.js';
import { getResourceReferenceTool } from './get-resource-reference.js';
import { getTinyImageTool } from './get-tiny-image.js';
import { longRunningOperationTool } from './long-running-operation.js';
import { sampleLLMTool } from './sample-llm.js';
import type { ToolDefinition } from './types.js';

export const TOOLS: ReadonlyMap<string, ToolDefinition> = new Map(
  [
    echoTool,
    addTool,
    longRunningOperationTool,
    sampleLLMTool,
    getTinyImageTool,
    annotatedMessageTool,
    getResourceReferenceTool,
    elicitInputsTool,
  ].map((definition) => [definition.tool.name, definition]),
);

const LIST_RESULT: ListToolsResult = Object.freeze({
  tools: [...TOOLS.values()].map((definition) => definition.tool),
});

export function registerToolHandlers(server: Server, state: SessionFeatureState): void {
  server.setRequestHandler(ListToolsRequestSchema, () => LIST_RESULT);

  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const { name, arguments: args, _meta } = request.params;
    const definition = TOOLS.get(name);
    // Per spec an unknown tool is a protocol error, unlike bad arguments to a known one.
    if (!definition) throw invalidParams(`Unknown tool: ${shorten(name)}`);
    return definition.call(args ?? {}, { server, state, extra, progressToken: _meta?.progressToken });
  });
}
