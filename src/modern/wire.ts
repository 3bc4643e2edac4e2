import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
} from '@modelcontextprotocol/server';
import { SUPPORTED_PROTOCOL_VERSIONS as SESSION_VERSIONS, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { MISSING_REQUIRED_CLIENT_CAPABILITY } from '../mcp/call-context.js';
import { SERVER_INFO } from '../mcp/everything-server.js';

/**
 * The 2026-07-28 wire: the revision, the `_meta` keys (the SDK's own
 * constants), the codes of the errors it adds, and how a result is stamped.
 */

export const MODERN_REVISION = '2026-07-28';

/** Every version this endpoint speaks, newest first: the stateless revision and the sessionful ones. */
export const SUPPORTED_VERSIONS: readonly string[] = [MODERN_REVISION, ...SESSION_VERSIONS];

export const META = {
  protocolVersion: PROTOCOL_VERSION_META_KEY,
  clientInfo: CLIENT_INFO_META_KEY,
  clientCapabilities: CLIENT_CAPABILITIES_META_KEY,
  logLevel: LOG_LEVEL_META_KEY,
  serverInfo: SERVER_INFO_META_KEY,
  subscriptionId: SUBSCRIPTION_ID_META_KEY,
} as const;

export const MODERN_ERRORS = {
  headerMismatch: -32020,
  missingClientCapability: MISSING_REQUIRED_CLIENT_CAPABILITY,
  unsupportedProtocolVersion: -32022,
} as const;

/** A refusal of the 2026-07-28 era: its HTTP status and its JSON-RPC error. */
export class ModernRefusal extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ModernRefusal';
  }
}

export function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0' as const, id, error: { code, message, ...(data !== undefined && { data }) } };
}

/** How long a client may keep a listing or a read, and whether it may share it with other users. */
export interface CacheHint {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/** The catalogue is the same for every user and changes only with a deployment. */
export const CATALOGUE_CACHE: CacheHint = Object.freeze({ ttlMs: 60_000, cacheScope: 'public' });

const SERVER_IDENTITY = Object.freeze({ name: SERVER_INFO.name, version: SERVER_INFO.version, ...(SERVER_INFO.title && { title: SERVER_INFO.title }) });

/** A result as the 2026-07-28 wire wants it: resultType, the server's identity, cache hints where they apply. */
export function completeResult(
  result: Record<string, unknown>,
  cache?: CacheHint,
  resultType: 'complete' | 'input_required' | 'task' = 'complete',
): Record<string, unknown> {
  const meta = (result._meta as Record<string, unknown> | undefined) ?? {};
  return { ...result, ...cache, resultType, _meta: { ...meta, [META.serverInfo]: SERVER_IDENTITY } };
}

export function resultResponse(id: RequestId, result: Record<string, unknown>) {
  return { jsonrpc: '2.0' as const, id, result };
}
