import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export type ParsedBody = { ok: true; messages: JSONRPCMessage[] } | { ok: false; reason: string };

const MAX_BATCH = 100;

/** Accepts one JSON-RPC message or a batch of them (clients of 2025-03-26 may batch). */
export function parseJsonRpcBody(body: unknown): ParsedBody {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return { ok: false, reason: 'Invalid Request: empty batch' };
  if (items.length > MAX_BATCH) return { ok: false, reason: `Invalid Request: batches hold at most ${MAX_BATCH} messages` };
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return { ok: false, reason: 'Invalid Request: not a JSON-RPC 2.0 message' };
    messages.push(parsed.data);
  }
  return { ok: true, messages };
}
