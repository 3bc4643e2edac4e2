import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export type ParsedBody = { ok: true; messages: JSONRPCMessage[] } | { ok: false; code: number; reason: string };

const MAX_BATCH = 100;

/** Bounds on what a client sends that the server stores or echoes (docs/operations.md, "Limits"). */
export interface InputBounds {
  /** Characters of a request id or progress token (MAX_ID_LENGTH). */
  maxIdLength: number;
  /** Bytes of initialize's params, serialized (MAX_INIT_PARAMS_BYTES): the session stores them. */
  maxInitParamsBytes: number;
}

export function inputBounds(rt: { config: { limits: { idLength: number; initParamsBytes: number } } }): InputBounds {
  return { maxIdLength: rt.config.limits.idLength, maxInitParamsBytes: rt.config.limits.initParamsBytes };
}

/** Accepts one JSON-RPC message or a batch of them (clients of 2025-03-26 may batch), within the bounds. */
export function parseJsonRpcBody(body: unknown, bounds: InputBounds): ParsedBody {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return invalid('Invalid Request: empty batch');
  if (items.length > MAX_BATCH) return invalid(`Invalid Request: batches hold at most ${MAX_BATCH} messages`);
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return invalid('Invalid Request: not a JSON-RPC 2.0 message');
    const problem = outOfBounds(parsed.data, bounds);
    if (problem) return problem;
    messages.push(parsed.data);
  }
  return { ok: true, messages };
}

function invalid(reason: string, code: number = ErrorCode.InvalidRequest): ParsedBody {
  return { ok: false, code, reason };
}

/**
 * Ids and progress tokens travel in every reply (and are kept in the event log);
 * initialize's params in the session's state. The bounds hold in both eras.
 */
export function outOfBounds(message: JSONRPCMessage, bounds: InputBounds): ParsedBody | undefined {
  if ('id' in message && tooLong(message.id, bounds.maxIdLength)) {
    return invalid(`Invalid Request: request id longer than ${bounds.maxIdLength} characters (MAX_ID_LENGTH)`);
  }
  if (!('method' in message)) return undefined;
  const params = message.params as { _meta?: { progressToken?: unknown } } | undefined;
  if (tooLong(params?._meta?.progressToken, bounds.maxIdLength)) {
    return invalid(`Invalid params: progressToken longer than ${bounds.maxIdLength} characters (MAX_ID_LENGTH)`, ErrorCode.InvalidParams);
  }
  if (message.method === 'initialize' && Buffer.byteLength(JSON.stringify(params ?? {})) > bounds.maxInitParamsBytes) {
    return invalid(
      `Invalid params: initialize params larger than ${bounds.maxInitParamsBytes} bytes (MAX_INIT_PARAMS_BYTES)`,
      ErrorCode.InvalidParams,
    );
  }
  return undefined;
}

function tooLong(value: unknown, max: number): boolean {
  return (typeof value === 'string' && value.length > max) || (typeof value === 'number' && String(value).length > max);
}
