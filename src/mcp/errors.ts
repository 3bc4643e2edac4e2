import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC code the MCP spec assigns to reading a resource that does not exist. */
export const RESOURCE_NOT_FOUND = -32002;

export function invalidParams(message: string): McpError {
  return new McpError(ErrorCode.InvalidParams, message);
}

export function resourceNotFound(uri: string): McpError {
  return new McpError(RESOURCE_NOT_FOUND, 'Resource not found', { uri: shorten(uri) });
}

const MAX_ECHOED_LENGTH = 100;

/**
 * Client input quoted back in an error message, cut short so that a huge
 * value cannot be reflected (or logged) in full.
 */
export function shorten(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.length > MAX_ECHOED_LENGTH ? `${text.slice(0, MAX_ECHOED_LENGTH)}…` : text;
}
