import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  GetTaskRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  ReadResourceRequestSchema,
  type ClientCapabilities,
  type JSONRPCRequest,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AwaitingClient, BecomeTask, type CallContext } from '../mcp/call-context.js';
import { LimitExceeded } from '../limits/limit-exceeded.js';
import type { CallObserver, CallOutcome } from '../observability/metrics.js';
import { observed } from '../observability/observed-call.js';
import { extensionRequired, TASKS_EXTENSION, tasksNegotiated, type ModernTasks } from './tasks-extension.js';
import { complete } from '../mcp/completions.js';
import { RESOURCE_NOT_FOUND } from '../mcp/errors.js';
import { getPrompt, LIST_RESULT as PROMPT_LIST, PROMPTS } from '../mcp/prompts/index.js';
import { listResources, readResource, TEMPLATES_RESULT } from '../mcp/resources/index.js';
import { LIST_RESULT as TOOL_LIST, TOOLS } from '../mcp/tools/index.js';
import type { ChangeEvents } from './change-events.js';
import { ListenFilterSchema, type ListenFilter } from './listen.js';
import { inputRequestOf, modernCallContext } from './modern-call-context.js';
import { RequestStateRejected, type RequestStateSeal, type StateBinding } from './request-state.js';
import {
  CATALOGUE_CACHE,
  completeResult,
  META,
  MODERN_ERRORS,
  MODERN_REVISION,
  ModernRefusal,
  SUPPORTED_VERSIONS,
  type CacheHint,
} from './wire.js';

/** Rounds one call may take: a client that never stops answering cannot keep a call going. */
export const MAX_INPUT_ROUNDS = 10;

/** What the 2026-07-28 era offers (server/discover). No tasks here: the extension announces its own. */
export const MODERN_CAPABILITIES = Object.freeze({
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  completions: {},
  logging: {},
  extensions: { [TASKS_EXTENSION]: {} },
});

/** One 2026-07-28 request as the HTTP edge hands it over. */
export interface ModernExchange {
  message: JSONRPCRequest;
  /** The Mcp-Method and Mcp-Name headers, as sent. */
  methodHeader: string | undefined;
  nameHeader: string | undefined;
  /** Any other request header (Mcp-Param-*), by lower-case name. */
  header(name: string): string | undefined;
  userId: string;
  signal: AbortSignal;
  /** A notification about the request (progress, log), before its answer. */
  notify(notification: ServerNotification): Promise<void>;
}

export type ModernOutcome =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'listen'; filter: ListenFilter };

export interface ModernServices {
  seal: RequestStateSeal;
  events: ChangeEvents;
  tasks: ModernTasks;
  /** Where tool calls are counted (metrics). */
  calls?: CallObserver;
}

/** What every request carries in `_meta` besides the version (the SDK's classifier already checked the keys are there). */
const EnvelopeSchema = z.object({
  [META.clientCapabilities]: z.record(z.string(), z.unknown()),
  [META.logLevel]: LoggingLevelSchema.optional(),
  progressToken: z.union([z.string(), z.number()]).optional(),
});

/** The multi round-trip fields a retry adds to its params. */
const RoundSchema = z.object({
  inputResponses: z.record(z.string(), z.unknown()).optional(),
  requestState: z.string().optional(),
});

type Handler = (params: Record<string, unknown>, request: RequestContext) => Promise<ModernOutcome> | ModernOutcome;

interface Method {
  /** The request schema of the method (the SDK's own, era-independent). */
  schema: z.ZodType;
  /** What the Mcp-Name header must repeat, for the methods that have one. */
  name?: (params: Record<string, unknown>) => string;
  handle: Handler;
}

interface RequestContext {
  exchange: ModernExchange;
  services: ModernServices;
  clientCapabilities: ClientCapabilities;
  logLevel: z.infer<typeof LoggingLevelSchema> | undefined;
  progressToken: string | number | undefined;
}

const complete_ = (result: object, cache?: CacheHint): ModernOutcome => ({
  kind: 'result',
  result: completeResult(result as Record<string, unknown>, cache),
});

/** The tools as this era lists them: task support is the tasks extension's business here. */
const MODERN_TOOL_LIST = Object.freeze({
  tools: TOOL_LIST.tools.map(({ execution: _execution, ...tool }) => tool),
});

const METHODS: Readonly<Record<string, Method>> = {
  'server/discover': {
    schema: z.object({ method: z.literal('server/discover') }),
    handle: () => complete_({ supportedVersions: SUPPORTED_VERSIONS, capabilities: MODERN_CAPABILITIES }, CATALOGUE_CACHE),
  },
  'tools/list': { schema: ListToolsRequestSchema, handle: () => complete_(MODERN_TOOL_LIST, CATALOGUE_CACHE) },
  'prompts/list': { schema: ListPromptsRequestSchema, handle: () => complete_(PROMPT_LIST, CATALOGUE_CACHE) },
  'resources/list': {
    schema: ListResourcesRequestSchema,
    handle: (params) => complete_(listResources(params.cursor as string | undefined), CATALOGUE_CACHE),
  },
  'resources/templates/list': { schema: ListResourceTemplatesRequestSchema, handle: () => complete_(TEMPLATES_RESULT, CATALOGUE_CACHE) },
  'resources/read': {
    schema: ReadResourceRequestSchema,
    name: (params) => String(params.uri),
    handle: (params) => complete_(readResource(String(params.uri)), CATALOGUE_CACHE),
  },
  'completion/complete': {
    schema: CompleteRequestSchema,
    handle: (params) => complete_(complete(params as Parameters<typeof complete>[0])),
  },
  'tools/call': {
    schema: CallToolRequestSchema,
    name: (params) => String(params.name),
    handle: (params, request) => {
      const name = String(params.name);
      const definition = TOOLS.get(name);
      if (!definition) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 100)}`);
      const args = (params.arguments as Record<string, unknown> | undefined) ?? {};
      checkParamHeaders(definition.tool.inputSchema, args, request.exchange.header);
      const negotiated = tasksNegotiated(request.clientCapabilities);
      if (definition.taskSupport === 'required' && !negotiated) throw extensionRequired(`Tool ${name}`);
      return observed(
        request.services.calls,
        name,
        'modern',
        () =>
          // The server decides: a tool that can run as a task does, for a client that negotiated tasks.
          definition.taskSupport && negotiated
            ? startTask(request, (context) => definition.call(args, context))
            : inRounds(request, { method: 'tools/call', target: name }, (context) => definition.call(args, context)),
        outcomeOf,
      );
    },
  },
  'tasks/get': taskMethod(GetTaskRequestSchema, async (taskId, request) =>
    complete_(await request.services.tasks.get(request.exchange.userId, taskId)),
  ),
  'tasks/update': taskMethod(
    z.object({ params: z.object({ taskId: z.string(), inputResponses: z.record(z.string(), z.unknown()) }) }),
    async (taskId, request, params) => {
      await request.services.tasks.update(request.exchange.userId, taskId, params.inputResponses as Record<string, unknown>);
      return complete_({});
    },
  ),
  'tasks/cancel': taskMethod(CancelTaskRequestSchema, async (taskId, request) => {
    await request.services.tasks.cancel(request.exchange.userId, taskId);
    return complete_({});
  }),
  'prompts/get': {
    schema: GetPromptRequestSchema,
    name: (params) => String(params.name),
    handle: (params, request) => {
      const name = String(params.name);
      const args = params.arguments as Record<string, string> | undefined;
      return inRounds(request, { method: 'prompts/get', target: name }, (context) => getPrompt(PROMPTS.get(name), name, args, context));
    },
  },
  'subscriptions/listen': {
    schema: z.object({ params: z.object({ notifications: ListenFilterSchema }) }),
    handle: (params) => ({ kind: 'listen', filter: ListenFilterSchema.parse(params.notifications) }),
  },
};

/** How a tools/call of this era ended, for the metrics. */
function outcomeOf(outcome: ModernOutcome): CallOutcome {
  if (outcome.kind !== 'result') return 'ok';
  const { resultType, isError } = outcome.result;
  if (resultType === 'input_required') return 'input_required';
  if (resultType === 'task') return 'task';
  return isError ? 'tool_error' : 'ok';
}

/** A method of the tasks extension: named by its task id, for clients that negotiated the extension only. */
function taskMethod(
  schema: z.ZodType,
  handle: (taskId: string, request: RequestContext, params: Record<string, unknown>) => Promise<ModernOutcome>,
): Method {
  return {
    schema,
    name: (params) => String(params.taskId),
    handle: (params, request) => {
      if (!tasksNegotiated(request.clientCapabilities)) throw extensionRequired(request.exchange.message.method);
      return handle(String(params.taskId), request, params);
    },
  };
}

/** A call that becomes a task: the answer is the task (resultType "task"), the work goes on. */
async function startTask(request: RequestContext, work: Parameters<ModernTasks['start']>[2]): Promise<ModernOutcome> {
  try {
    const task = await request.services.tasks.start(request.exchange.userId, request.clientCapabilities, work);
    return { kind: 'result', result: completeResult(task, undefined, 'task') };
  } catch (error) {
    throw error instanceof LimitExceeded ? error.toMcpError() : error;
  }
}

/** A header that must repeat the body (SEP-2243) is missing or says something else: 400, -32020. */
function headerMismatch(header: string, value: string | undefined): ModernRefusal {
  const problem = value === undefined ? `the ${header} header is required` : `the ${header} header does not match the body`;
  return new ModernRefusal(400, MODERN_ERRORS.headerMismatch, `Bad Request: ${problem}`, {
    mismatch: { header, ...(value !== undefined && { value: value.slice(0, 100) }) },
  });
}

/** `=?base64?…?=`: a header value that could not travel as it is; strict base64 inside. */
const ENCODED_VALUE = /^=\?base64\?(.*)\?=$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Arguments a tool's schema marks with `x-mcp-header` travel in an
 * `Mcp-Param-<name>` header too (SEP-2243), so that proxies can route on them
 * without reading the body: the header must be there and say the same.
 */
function checkParamHeaders(schema: { properties?: object }, args: Record<string, unknown>, header: (name: string) => string | undefined): void {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const suffix = (property as Record<string, unknown>)['x-mcp-header'];
    if (typeof suffix !== 'string' || !(name in args)) continue;
    const headerName = `Mcp-Param-${suffix}`;
    const raw = header(headerName.toLowerCase())?.trim();
    if (raw === undefined) throw headerMismatch(headerName, undefined);
    const encoded = ENCODED_VALUE.exec(raw);
    if (encoded && !STRICT_BASE64.test(encoded[1]!)) throw headerMismatch(headerName, raw);
    const value = encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : raw;
    if (value !== String(args[name])) throw headerMismatch(headerName, raw);
  }
}

/**
 * Runs a call that may ask the client (tools/call, prompts/get): the answers
 * of earlier rounds come back sealed in requestState, this round's in
 * inputResponses. A call still missing answers ends the round with an
 * input_required result and a freshly sealed state.
 */
async function inRounds(
  request: RequestContext,
  target: Omit<StateBinding, 'userId'>,
  run: (context: CallContext) => Promise<object> | object,
): Promise<ModernOutcome> {
  const { exchange, services } = request;
  const round = RoundSchema.safeParse(exchange.message.params);
  if (!round.success) throw new McpError(ErrorCode.InvalidParams, 'Invalid params: inputResponses must be an object and requestState a string');
  const binding: StateBinding = { userId: exchange.userId, ...target };
  let earlier = { answers: {} as Record<string, unknown>, rounds: 0 };
  if (round.data.requestState !== undefined) {
    try {
      earlier = await services.seal.open(round.data.requestState, binding);
    } catch (error) {
      if (!(error instanceof RequestStateRejected)) throw error;
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: requestState rejected (${error.message})`);
    }
  }
  const used: Record<string, unknown> = {};
  const context = modernCallContext(
    {
      signal: exchange.signal,
      clientCapabilities: request.clientCapabilities,
      logLevel: request.logLevel,
      progressToken: request.progressToken,
      answers: { ...earlier.answers, ...round.data.inputResponses },
      notify: exchange.notify,
      events: services.events,
      tasksNegotiated: tasksNegotiated(request.clientCapabilities),
    },
    used,
  );
  try {
    return complete_(await run(context));
  } catch (error) {
    // The call asked what it needed and goes on as a task (continueAsTask).
    if (error instanceof BecomeTask) return startTask(request, error.work);
    if (!(error instanceof AwaitingClient)) throw error;
    if (earlier.rounds >= MAX_INPUT_ROUNDS) {
      throw new McpError(ErrorCode.InvalidRequest, `Invalid request: a call may take at most ${MAX_INPUT_ROUNDS} input rounds`);
    }
    const requestState = await services.seal.seal({ answers: used, rounds: earlier.rounds + 1 }, binding);
    const inputRequests = Object.fromEntries(Object.entries(error.questions).map(([key, question]) => [key, inputRequestOf(question)]));
    return { kind: 'result', result: completeResult({ inputRequests, requestState }, undefined, 'input_required') };
  }
}

/**
 * Written here rather than served by the SDK's createMcpHandler: that entry
 * builds a server and a transport for every request and converts Node's
 * request and response to web ones, which `npm run bench` measures at about
 * 2.6 times the cost of this dispatch (docs/performance.md). The SDK still
 * decides the era and checks the envelope (classifyInboundRequest), seals
 * request state (createRequestStateCodec) and shapes the listen bus (its
 * ServerEventBus interface); what remains is a table of methods over the
 * same feature definitions the sessions use.
 *
 * Serves one 2026-07-28 request after the SDK's classifier admitted it
 * (JSON-RPC shape, envelope keys, header/body version agreement). The rest
 * of the validation ladder, in the spec's order: a revision we speak (-32022),
 * the Mcp-Method and Mcp-Name headers (-32020), a method of this era (404,
 * -32601), params of the right shape (-32602). Refusals are ModernRefusal
 * (with their HTTP status); a handler's own errors are McpError.
 */
export async function dispatchModern(exchange: ModernExchange, services: ModernServices): Promise<ModernOutcome> {
  const { message } = exchange;
  const params = (message.params ?? {}) as Record<string, unknown>;
  const meta = (params._meta ?? {}) as Record<string, unknown>;
  const requested = meta[META.protocolVersion];
  if (requested !== MODERN_REVISION) {
    throw new ModernRefusal(400, MODERN_ERRORS.unsupportedProtocolVersion, 'Unsupported protocol version', {
      requested,
      supported: SUPPORTED_VERSIONS,
    });
  }
  if (exchange.methodHeader !== message.method) {
    throw headerMismatch('Mcp-Method', exchange.methodHeader);
  }
  const method = Object.hasOwn(METHODS, message.method) ? METHODS[message.method] : undefined;
  if (!method) throw new ModernRefusal(404, ErrorCode.MethodNotFound, `Method not found: ${message.method.slice(0, 100)}`);
  if (!method.schema.safeParse(message).success) {
    throw new ModernRefusal(400, ErrorCode.InvalidParams, `Invalid params for ${message.method}`);
  }
  // Header values may carry surrounding whitespace (HTTP allows it); the value itself must match exactly.
  if (method.name && exchange.nameHeader?.trim() !== method.name(params)) {
    throw headerMismatch('Mcp-Name', exchange.nameHeader);
  }
  const envelope = EnvelopeSchema.safeParse(meta);
  if (!envelope.success) throw new ModernRefusal(400, ErrorCode.InvalidParams, 'Invalid params: malformed _meta');
  try {
    return await method.handle(params, {
      exchange,
      services,
      clientCapabilities: envelope.data[META.clientCapabilities] as ClientCapabilities,
      logLevel: envelope.data[META.logLevel],
      progressToken: envelope.data.progressToken,
    });
  } catch (error) {
    if (error instanceof McpError && error.code === RESOURCE_NOT_FOUND) {
      // This era answers a missing resource with -32602, naming the URI.
      throw new McpError(ErrorCode.InvalidParams, `Resource not found: ${String(params.uri).slice(0, 100)}`, error.data);
    }
    throw error;
  }
}
