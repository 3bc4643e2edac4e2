/** Raw Streamable HTTP calls with fetch, for tests that need control the SDK client hides. */
import { sseMessages } from './http-raw.js';

export { sseMessages };

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** The headers of an MCP request, with the bearer token when the deployment needs one. */
export function mcpHeaders(token?: string, sessionId?: string): Record<string, string> {
  return {
    ...MCP_HEADERS,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  };
}

export async function openSession(baseUrl: string, token?: string): Promise<string> {
  const response = await fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: mcpHeaders(token),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: { sampling: {} }, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sessionId = response.headers.get('mcp-session-id');
  await response.text();
  if (response.status !== 200 || !sessionId) throw new Error(`initialize failed: ${response.status}`);
  await post(baseUrl, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' }, undefined, token).then((r) => r.text());
  return sessionId;
}

export function post(baseUrl: string, sessionId: string, body: unknown, signal?: AbortSignal, token?: string): Promise<Response> {
  return fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: mcpHeaders(token, sessionId),
    body: JSON.stringify(body),
    signal,
  });
}

export function toolCall(id: number | string, name: string, args: Record<string, unknown>, progressToken?: string) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args, ...(progressToken ? { _meta: { progressToken } } : {}) },
  };
}

export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads an SSE response message by message, as they arrive. */
export function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: Array<Record<string, any>> = [];
  return {
    /** The next JSON-RPC message, or undefined when the stream ended. */
    async next(): Promise<Record<string, any> | undefined> {
      for (;;) {
        if (queue.length > 0) return queue.shift();
        const { value, done } = await reader.read();
        if (done) {
          // A JSON answer (no events) is all one message, read to the end.
          const rest = sseMessages(buffer);
          buffer = '';
          queue.push(...rest);
          return queue.shift();
        }
        buffer += decoder.decode(value, { stream: true });
        const end = buffer.lastIndexOf('\n\n');
        if (end < 0) continue;
        queue.push(...sseMessages(buffer.slice(0, end + 2)));
        buffer = buffer.slice(end + 2);
      }
    },
    cancel: () => reader.cancel().catch(() => undefined),
  };
}
