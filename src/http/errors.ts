import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ErrorCode, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { LIMIT_EXCEEDED_CODE, LimitExceeded } from '../limits/limit-exceeded.js';
import { markRefused } from '../observability/http-metrics.js';
import type { Logger } from '../observability/logger.js';
import { whenClosed } from '../sessions/streams/response-closed.js';
import { AuthUnavailableError } from '../auth/token-lookup.js';

/** Writes a JSON-RPC error body; every error of the MCP endpoints has this shape. */
export function sendJsonRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  id: RequestId | null = null,
  data?: unknown,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ jsonrpc: '2.0', error: { code, message, ...(data !== undefined && { data }) }, id });
}

/**
 * Runs `take` (which takes a unit of some budget); when the budget is spent,
 * answers the refusal instead and returns undefined.
 */
export function withinBudget<T>(res: Response, take: () => T): T | undefined {
  try {
    return take();
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
    sendLimitExceeded(res, error);
    return undefined;
  }
}


/**
 * Takes a unit of a budget for as long as the response lives, until its
 * 'close', which for a client that does not read comes only once its unread
 * bytes are dropped (SseWriter ends such a response within a bound). Answers
 * the refusal when the budget is spent, and returns false then.
 */
export function holdWhileOpen(res: Response, acquire: () => () => void): boolean {
  const release = withinBudget(res, acquire);
  if (!release) return false;
  whenClosed(res, release);
  return true;
}

/** A budget ran out: 429 (the caller's share) or 503 (the instance's), Retry-After, the setting named. */
export function sendLimitExceeded(res: Response, error: LimitExceeded): void {
  markRefused(res, error.setting);
  if (!res.headersSent) res.setHeader('Retry-After', String(error.retryAfterS));
  sendJsonRpcError(res, error.httpStatus, LIMIT_EXCEEDED_CODE, error.message, null, error.data);
}

export const sessionNotFound = (res: Response) =>
  sendJsonRpcError(res, 404, -32001, 'Session not found: initialize a new session');

export const serviceUnavailable = (res: Response) => {
  if (!res.headersSent) res.setHeader('Retry-After', '1');
  sendJsonRpcError(res, 503, ErrorCode.InternalError, 'Service temporarily unavailable; retry shortly');
};

/** Methods each MCP endpoint answers; anything else is a 405 naming them. */
const ALLOWED_METHODS: Record<string, string> = {
  '/mcp': 'GET, POST, DELETE, OPTIONS',
  '/sse': 'GET, OPTIONS',
  '/message': 'POST, OPTIONS',
};

function isMcpPath(req: Request): boolean {
  return req.path in ALLOWED_METHODS;
}

/** Unknown routes get JSON, never express' HTML page. */
export const notFoundHandler: RequestHandler = (req, res) => {
  if (isMcpPath(req)) {
    res.setHeader('Allow', ALLOWED_METHODS[req.path]!);
    sendJsonRpcError(res, 405, ErrorCode.InvalidRequest, `Method ${req.method} not allowed`);
    return;
  }
  res.status(404).json({ error: 'not_found', error_description: `No route for ${req.method} ${req.path}` });
};

interface HttpError {
  status?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/** The last middleware: turns anything thrown into a JSON body, with no stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: HttpError, req, res, _next) => {
    // Raised by the middleware before the routes (rate limits, authentication).
    if (error instanceof LimitExceeded) {
      sendLimitExceeded(res, error);
      return;
    }
    if (error instanceof AuthUnavailableError) {
      serviceUnavailable(res);
      return;
    }
    if (error.type === 'entity.too.large') {
      sendJsonRpcError(res, 413, ErrorCode.InvalidRequest, 'Request body too large (MAX_BODY_BYTES)');
      return;
    }
    if (error.type === 'entity.parse.failed') {
      sendJsonRpcError(res, 400, ErrorCode.ParseError, 'Parse error: body is not valid JSON');
      return;
    }
    if (error.type === 'request.aborted') {
      res.end();
      return;
    }
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error('unhandled error', { path: req.path, error: error.message });
    const message = status === 500 ? 'Internal error' : (error.expose && error.message) || 'Bad request';
    if (isMcpPath(req)) sendJsonRpcError(res, status, status === 500 ? ErrorCode.InternalError : ErrorCode.InvalidRequest, message);
    else if (!res.headersSent) res.status(status).json({ error: status === 500 ? 'server_error' : 'invalid_request', error_description: message });
    else res.end();
  };
}
