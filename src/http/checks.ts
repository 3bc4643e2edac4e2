import type { Request } from 'express';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

/** The client must accept both a JSON body and an event stream (Streamable HTTP POST). */
export function acceptsJsonAndStream(req: Request): boolean {
  if (!req.headers.accept) return false;
  return Boolean(req.accepts('application/json')) && Boolean(req.accepts('text/event-stream'));
}

export function acceptsStream(req: Request): boolean {
  return Boolean(req.headers.accept) && Boolean(req.accepts('text/event-stream'));
}

export function hasJsonBody(req: Request): boolean {
  return Boolean(req.headers['content-type']) && req.is('application/json') === 'application/json';
}

/** Absent means 2025-03-26 (the spec's default); present must be a version we speak. */
export function protocolVersionProblem(req: Request): string | undefined {
  const version = req.headers['mcp-protocol-version'];
  if (version === undefined) return undefined;
  if (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return `Unsupported MCP-Protocol-Version: ${String(version)} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`;
}

const FORWARDED_HEADERS = ['user-agent', 'mcp-protocol-version'] as const;

/** Request metadata passed to the owner: an allow-list, so credentials never travel. */
export function safeHeaders(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value.slice(0, 512);
  }
  return headers;
}
