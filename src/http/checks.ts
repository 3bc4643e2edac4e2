import type { Request } from 'express';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

// Each check first looks for the plain spelling every MCP client sends, and only
// otherwise parses the header in full (wildcards, q-values, parameters): that
// parse was a measurable part of a tool call's CPU.

/** The client must accept both a JSON body and an event stream (Streamable HTTP POST). */
export function acceptsJsonAndStream(req: Request): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  if (accept === 'application/json, text/event-stream') return true;
  if (!accept.includes(';')) {
    const types = accept.split(',').map((type) => type.trim());
    if (types.includes('application/json') && types.includes('text/event-stream')) return true;
  }
  return Boolean(req.accepts('application/json')) && Boolean(req.accepts('text/event-stream'));
}

export function acceptsStream(req: Request): boolean {
  return Boolean(req.headers.accept) && Boolean(req.accepts('text/event-stream'));
}

export function hasJsonBody(req: Request): boolean {
  const type = req.headers['content-type'];
  if (!type) return false;
  return type === 'application/json' || req.is('application/json') === 'application/json';
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
