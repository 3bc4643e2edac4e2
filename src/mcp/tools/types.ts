import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type Tool,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  AwaitingClient,
  BecomeTask,
  ClientRequestFailed,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  MissingClientCapability,
  type CallContext,
} from '../call-context.js';
import { TOOL_ICONS } from '../icons.js';

/** What a running tool may use: the same in both eras (see CallContext). */
export type ToolContext = CallContext;

export interface ToolDefinition {
  /** What tools/list shows; built once per process. */
  readonly tool: Tool;
  readonly taskSupport?: 'optional' | 'required';
  /**
   * Validates the raw arguments and runs the tool. Failures become isError
   * results; the only protocol error a tool raises on purpose is -32042
   * (URL elicitation required).
   */
  call(rawArguments: Record<string, unknown>, context: ToolContext): Promise<CallToolResult>;
}

/**
 * Every tool declares how it behaves (MCP tool annotations): the hints are
 * required so that no tool can be added without them. `title` is also the
 * tool's display name.
 */
export interface ToolBehaviour {
  title: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

interface ToolSpec<Args extends z.ZodObject, Output extends z.ZodObject | undefined> {
  name: string;
  description: string;
  annotations: ToolBehaviour;
  args: Args;
  /**
   * The inputSchema to publish instead of the one derived from `args`, for a
   * tool whose schema must appear exactly as written (JSON Schema 2020-12
   * keywords zod does not produce). `args` must accept the same arguments.
   */
  inputSchema?: Tool['inputSchema'];
  /** Declares an outputSchema: every successful result carries structuredContent matching it. */
  output?: Output;
  /** Whether the tool may (optional) or must (required) run as a task; absent = never. */
  taskSupport?: 'optional' | 'required';
  run(args: z.output<Args>, context: ToolContext): CallToolResult | Promise<CallToolResult>;
}

/** Annotations of a tool that only reads and answers from fixed data: the common case. */
export const READ_ONLY: Omit<ToolBehaviour, 'title'> = Object.freeze({
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
});

/** Annotations of a read-only tool that asks the client (an LLM or its user) for something. */
export const ASKS_THE_CLIENT: Omit<ToolBehaviour, 'title'> = Object.freeze({
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
});

/** Annotations of a tool that switches a per-session setting (additive, not idempotent when it toggles). */
export const SESSION_SWITCH: Omit<ToolBehaviour, 'title'> = Object.freeze({
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
});

export function textResult(...texts: string[]): CallToolResult {
  return { content: texts.map((text) => ({ type: 'text', text })) };
}

/**
 * The answer of a tool that switches a session's settings, called in the
 * stateless 2026-07-28 era where there is no session to switch.
 */
export function needsSession(name: string): CallToolResult {
  return toolError(
    `${name} switches a setting of a session (protocol 2025-11-25 and older); requests of protocol 2026-07-28 have no session, so there is nothing to switch.`,
  );
}

/** A tool execution error: reported to the model inside the result, not as a protocol error. */
export function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`).join('; ');
}

/** A protocol error a tool raises on purpose (a fixture of how protocol errors travel), never turned into an isError result. */
export class DeliberateProtocolError extends McpError {}

/**
 * What a tool may throw on purpose instead of answering: a protocol error of
 * its era (-32042 URL elicitation required in a session, -32021 in the
 * 2026-07-28 era) or the pause of an input_required round.
 */
function passesThrough(error: unknown): boolean {
  if (error instanceof AwaitingClient || error instanceof BecomeTask || error instanceof DeliberateProtocolError) return true;
  return (
    error instanceof McpError &&
    (error.code === ErrorCode.UrlElicitationRequired || error.code === MISSING_REQUIRED_CLIENT_CAPABILITY)
  );
}

/** How a failure of the tool's own work is reported to the model (an isError result). */
function reportFailure(name: string, error: unknown): CallToolResult {
  if (error instanceof MissingClientCapability) return toolError(`The client does not support ${error.describe}, so ${name} cannot run.`);
  if (error instanceof ClientRequestFailed) return toolError(`${error.what} failed: ${error.message}`);
  return toolError(`Tool ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
}

export function defineTool<Args extends z.ZodObject, Output extends z.ZodObject | undefined = undefined>(
  spec: ToolSpec<Args, Output>,
): ToolDefinition {
  const tool: Tool = {
    name: spec.name,
    title: spec.annotations.title,
    description: spec.description,
    inputSchema: spec.inputSchema ?? (z.toJSONSchema(spec.args, { io: 'input' }) as Tool['inputSchema']),
    annotations: spec.annotations satisfies ToolAnnotations,
    icons: TOOL_ICONS,
  };
  if (spec.output) tool.outputSchema = z.toJSONSchema(spec.output, { io: 'output' }) as Tool['outputSchema'];
  if (spec.taskSupport) tool.execution = { taskSupport: spec.taskSupport };
  const output = spec.output;
  return {
    tool,
    taskSupport: spec.taskSupport,
    async call(rawArguments, context) {
      const parsed = spec.args.safeParse(rawArguments);
      if (!parsed.success) {
        return toolError(`Invalid arguments for tool ${spec.name}: ${describeIssues(parsed.error)}`);
      }
      let result: CallToolResult;
      try {
        result = await spec.run(parsed.data, context);
      } catch (error) {
        if (passesThrough(error)) throw error;
        return reportFailure(spec.name, error);
      }
      // A declared outputSchema is a promise to the client: never break it silently.
      if (output && !result.isError && !output.safeParse(result.structuredContent).success) {
        return toolError(`Tool ${spec.name} failed: its result does not match its outputSchema`);
      }
      return result;
    },
  };
}
