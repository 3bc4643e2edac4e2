import type { Request, Response } from 'express';
import { principalOf } from '../auth/principal.js';
import type { Runtime } from '../runtime.js';
import type { ResolvedSession } from '../sessions/edge/session-gateway.js';
import type { TransportKind } from '../sessions/session-directory.js';
import { protocolVersionProblem } from './checks.js';
import { sendJsonRpcError, serviceUnavailable, sessionNotFound } from './errors.js';

/** The caller's session, or the answer for it: one 404 for every way a session can be missing, 503 to retry. */
export async function sessionOrAnswer(rt: Runtime, res: Response, sessionId: string, kind: TransportKind): Promise<ResolvedSession | undefined> {
  const resolution = await rt.gateway.resolve(sessionId, principalOf(res).userId, kind);
  if (resolution.outcome === 'found') return resolution.session;
  if (resolution.outcome === 'not-found') sessionNotFound(res);
  else serviceUnavailable(res);
  return undefined;
}

/**
 * The Streamable HTTP preamble of every request after initialize: the session
 * header must be there, the protocol version (when sent) one we speak, and the
 * session the caller's.
 */
export async function streamableSessionOrAnswer(rt: Runtime, req: Request, res: Response): Promise<ResolvedSession | undefined> {
  const header = req.headers['mcp-session-id'];
  if (typeof header !== 'string' || header === '') {
    sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    return undefined;
  }
  const versionProblem = protocolVersionProblem(req);
  if (versionProblem) {
    sendJsonRpcError(res, 400, -32000, `Bad Request: ${versionProblem}`);
    return undefined;
  }
  return sessionOrAnswer(rt, res, header, 'shttp');
}
