import type { ErrorRequestHandler, Request, Response } from 'express';
import { OAuthError, TemporarilyUnavailableError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { Logger } from '../../observability/logger.js';
import { AuthUnavailableError } from '../token-lookup.js';

/** An OAuth error response (RFC 6749 §5.2): JSON, never cached. */
export function sendOAuthError(res: Response, status: number, error: string, description: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).json({ error, error_description: description });
}

/**
 * Start of an answer of a browser-facing endpoint: never cached, and 405 (with
 * Allow) unless the request uses `method`. False when it has answered.
 */
export function noStoreAndMethodAllowed(req: Request, res: Response, method: 'GET' | 'POST'): boolean {
  res.setHeader('Cache-Control', 'no-store');
  if (req.method === method) return true;
  res.setHeader('Allow', method);
  sendOAuthError(res, 405, 'invalid_request', `Method ${req.method} not allowed`);
  return false;
}

/** The store is down: 503 with the RFC 6749 code for it. */
export function sendTemporarilyUnavailable(res: Response): void {
  res.setHeader('Retry-After', '1');
  sendOAuthError(res, 503, 'temporarily_unavailable', 'The authorization server is temporarily unavailable; retry shortly');
}

/**
 * For provider methods the SDK's handlers call: a store failure becomes an OAuth
 * error (the SDK answers 400 temporarily_unavailable) instead of the 500 the SDK
 * gives to anything that is not an OAuthError.
 */
export async function oauthErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof AuthUnavailableError) throw new TemporarilyUnavailableError('The authorization server is temporarily unavailable; retry shortly');
    throw error;
  }
}

interface HttpError {
  status?: number;
  type?: string;
  message?: string;
}

/**
 * Last middleware of the auth router: what body parsers, rate-limit stores and
 * our handlers throw becomes an OAuth JSON error (the app's own error handler
 * answers JSON-RPC, which is right for /mcp but not for OAuth endpoints).
 */
export function oauthErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: HttpError, req, res, _next) => {
    const metadataError = req.path === '/register' ? 'invalid_client_metadata' : 'invalid_request';
    if (error instanceof AuthUnavailableError) {
      logger.warn('auth store unavailable', { path: req.path, error: error.message });
      sendTemporarilyUnavailable(res);
    } else if (error.type === 'entity.parse.failed') {
      sendOAuthError(res, 400, metadataError, 'The request body could not be parsed');
    } else if (error.type === 'entity.too.large') {
      sendOAuthError(res, 413, metadataError, 'The request body is too large');
    } else if (error.type === 'request.aborted') {
      res.end();
    } else if (error.status && error.status >= 400 && error.status < 500) {
      sendOAuthError(res, error.status, 'invalid_request', 'The request could not be read');
    } else {
      logger.error('unhandled error in the authorization server', { path: req.path, error: error.message });
      sendOAuthError(res, 500, 'server_error', 'Internal error');
    }
  };
}
