import type { RequestHandler } from 'express';
import {
  ErrorCode,
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { principalOf } from '../auth/principal.js';
import { channels, streamKeyFor } from '../routing/channels.js';
import { envelope } from '../routing/envelopes.js';
import type { Runtime } from '../session/runtime.js';
import { acceptsJsonAndStream, hasJsonBody, safeHeaders } from './checks.js';
import { sendJsonRpcError, serviceUnavailable } from './errors.js';
import { parseJsonRpcBody } from './jsonrpc-body.js';
import type { KeepAlive } from './keep-alive.js';
import { RequestStream } from './request-stream.js';
import { resolveStreamableSession } from './session-guard.js';

/** Checks that need no body: run before the body is read at all. */
export const postPreconditions: RequestHandler = (req, res, next) => {
  if (!acceptsJsonAndStream(req)) {
    sendJsonRpcError(res, 406, -32000, 'Not Acceptable: Accept must include application/json and text/event-stream');
    return;
  }
  if (!hasJsonBody(req)) {
    sendJsonRpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    return;
  }
  next();
};

/** POST /mcp: initialize creates a session here; anything else is routed to the session's owner. */
export function mcpPost(rt: Runtime, keepAlive: KeepAlive): RequestHandler {
  return async (req, res) => {
    const parsed = parseJsonRpcBody(req.body);
    if (!parsed.ok) {
      sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, parsed.reason);
      return;
    }
    const { messages } = parsed;
    const principal = principalOf(res);
    const requestIds = messages.filter(isJSONRPCRequest).map((m) => streamKeyFor(m.id));
    if (new Set(requestIds).size !== requestIds.length) {
      sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: duplicate request ids in one batch');
      return;
    }

    let sessionId: string;
    let ownerInstanceId: string;
    let headers: Record<string, string> | undefined;
    if (messages.some(isInitializeRequest)) {
      if (messages.length > 1) {
        sendJsonRpcError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone');
        return;
      }
      try {
        sessionId = await rt.host.create(principal.userId, 'shttp');
      } catch (error) {
        rt.logger.warn('session creation failed', { error: (error as Error).message });
        serviceUnavailable(res);
        return;
      }
      ownerInstanceId = rt.instanceId;
      headers = { 'Mcp-Session-Id': sessionId };
    } else {
      const session = await resolveStreamableSession(rt, req, res);
      if (!session) return;
      sessionId = session.sessionId;
      ownerInstanceId = session.meta.instanceId;
    }

    if (requestIds.length === 0) {
      await publishAll(rt, sessionId, messages, principal, safeHeaders(req))
        .then(() => res.status(202).end())
        .catch(() => serviceUnavailable(res));
      return;
    }
    await new RequestStream(rt, keepAlive, req, res, { sessionId, ownerInstanceId, principal, headers }).run(messages);
  };
}

/** Notifications and responses need no stream: publish and acknowledge. */
async function publishAll(
  rt: Runtime,
  sessionId: string,
  messages: JSONRPCMessage[],
  principal: ReturnType<typeof principalOf>,
  headers: Record<string, string>,
): Promise<void> {
  for (const message of messages) {
    await rt.backend.bus.publish(
      channels.toServer(sessionId),
      JSON.stringify(envelope.message(message, principal, undefined, { headers })),
    );
  }
}
