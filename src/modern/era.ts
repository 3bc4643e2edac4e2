import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { JSONRPCNotification, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { META, MODERN_REVISION } from './wire.js';

/** The MCP headers of a POST, as sent. */
export interface PostHeaders {
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  method: string | undefined;
  name: string | undefined;
}

export type Era =
  | { kind: 'session' }
  | { kind: 'modern'; message: JSONRPCRequest | JSONRPCNotification }
  | { kind: 'refused'; httpStatus: number; code: number; message: string; data?: unknown; id: RequestId | null };

function claimsModern(body: unknown): boolean {
  const items = Array.isArray(body) ? body : [body];
  return items.some((item) => {
    const meta = (item as { params?: { _meta?: unknown } } | null)?.params?._meta;
    return typeof meta === 'object' && meta !== null && META.protocolVersion in meta;
  });
}

function idOf(body: unknown): RequestId | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * Which era a POST /mcp belongs to. A request with Mcp-Session-Id is
 * sessionful, as is everything the SDK's classifier (the same one its own
 * dual-era handler routes with) calls legacy: initialize, claim-less
 * requests, responses. A request with the 2026-07-28 `_meta` claim, or the
 * 2026-07-28 header without a session, is modern; the classifier's
 * refusals (a modern header without the claim, header and body naming
 * different versions, a batch holding a modern request) are answered only for
 * requests that show a sign of the modern era, so that every older client
 * keeps the answers it always had.
 */
export function eraOf(headers: PostHeaders, body: unknown): Era {
  if (headers.sessionId !== undefined) return { kind: 'session' };
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers.protocolVersion,
    mcpMethodHeader: headers.method,
    mcpNameHeader: headers.name,
    body,
  });
  if (outcome.kind === 'legacy') return { kind: 'session' };
  if (outcome.kind === 'modern') return { kind: 'modern', message: outcome.message };
  if (headers.protocolVersion !== MODERN_REVISION && !claimsModern(body)) return { kind: 'session' };
  return { kind: 'refused', httpStatus: outcome.httpStatus, code: outcome.code, message: outcome.message, data: outcome.data, id: idOf(body) };
}
