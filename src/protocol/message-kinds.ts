import type {
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResponse,
} from '@modelcontextprotocol/sdk/types.js';

/**
 * What kind of JSON-RPC message an already validated message is, by its keys.
 * The SDK's type guards re-parse the whole message with zod (a tool result
 * included) each time; on the hot path a message's kind is asked several times.
 */
export function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

export function isNotification(message: JSONRPCMessage): message is JSONRPCNotification {
  return 'method' in message && !('id' in message);
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  return !('method' in message) && ('result' in message || 'error' in message);
}

export function isInitialize(message: JSONRPCMessage): message is JSONRPCRequest & { params: { protocolVersion: string } } {
  return isRequest(message) && message.method === 'initialize';
}
