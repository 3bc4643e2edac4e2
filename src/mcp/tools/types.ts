import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ProgressToken,
  ServerNotification,
  ServerRequest,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { SessionFeatureState } from '../session-features.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a running tool may use from its session and its request. */
export interface ToolContext {
  server: Server;
  state: SessionFeatureState;
  /** The tools/call request's handler extra: signal, sendNotification, sendRequest. */
  extra: ToolExtra;
  /** Present when the client asked for progress notifications. */
  progressToken?: ProgressToken;
}

export interface ToolDefinition {
  /** What tools/list shows; built once per process. */
  readonly tool: Tool;
  /** Validates the raw arguments and runs the tool. Never throws: failures become isError results. */
  call(rawArguments: Record<string, unknown>, context: ToolContext): Promise<CallToolResult>;
}

interface ToolSpec<Args extends z.ZodObject> {
  name: string;
  description: string;
  args: Args;
  run(args: z.output<Args>, context: ToolContext): CallToolResult | Promise<CallToolResult>;
}

export function textResult(...texts: string[]): CallToolResult {
  return { content: texts.map((text) => ({ type: 'text', text })) };
}

/** A tool execution error: reported to the model inside the result, not as a protocol error. */
export function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`).join('; ');
}

export function defineTool<Args extends z.ZodObject>(spec: ToolSpec<Args>): ToolDefinition {
  const tool: Tool = {
    name: spec.name,
    description: spec.description,
    inputSchema: z.toJSONSchema(spec.args, { io: 'input' }) as Tool['inputSchema'],
  };
  return {
    tool,
    async call(rawArguments, context) {
      const parsed = spec.args.safeParse(rawArguments);
      if (!parsed.success) {
        return toolError(`Invalid arguments for tool ${spec.name}: ${describeIssues(parsed.error)}`);
      }
      try {
        return await spec.run(parsed.data, context);
      } catch (error) {
        return toolError(`Tool ${spec.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}
