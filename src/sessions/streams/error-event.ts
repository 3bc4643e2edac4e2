import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The data of an event answering request `id` with a JSON-RPC error (every stream kind writes these alike). */
export function errorEvent(id: RequestId, code: number, message: string, data?: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined && { data }) } });
}
