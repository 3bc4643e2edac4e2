import type { BusListener, MessageBus } from '../routing/bus.js';
import { channels, STANDALONE_STREAM, streamKeyOfChannel } from '../routing/channels.js';
import { ControlEnvelopeSchema, decode, ToClientEnvelopeSchema, ToServerEnvelopeSchema } from '../routing/envelopes.js';

/** One message of a session as it crossed the bus, as its user may see it. */
export interface TapEvent {
  at: number;
  direction: 'client-to-server' | 'server-to-client' | 'control';
  /** The channel it crossed. */
  channel: string;
  /** The envelope's kind: `message` for a JSON-RPC message, else what the routing said (standalone, close, end, ...). */
  kind: string;
  /** The JSON-RPC message, for `message` envelopes. */
  message?: unknown;
  /** For other envelopes, what they carry (no principal, no request headers). */
  detail?: Record<string, unknown>;
}

export interface Tap {
  close(): Promise<void>;
}

/**
 * Listens to every channel of one session — client→server, each stream's
 * server→client channel, the legacy stream, control — and hands each message
 * to `onEvent` as it crosses. What the envelopes carry besides the message
 * (the principal, allow-listed request headers) stays out. `onEnd` is called
 * once the session ends (its owner announced it, or a shutdown was asked).
 * The subscriptions are the bus's, shared with whatever else listens there.
 */
export async function tapSession(
  bus: MessageBus,
  sessionId: string,
  onEvent: (event: TapEvent) => void,
  onEnd: (reason: string) => void,
): Promise<Tap> {
  const toServer = channels.toServer(sessionId);
  const control = channels.control(sessionId);
  const legacy = channels.sseToClient(sessionId);
  const pattern = channels.toClientPattern(sessionId);
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };

  const listener: BusListener = (raw, channel) => {
    if (ended) return;
    const at = Date.now();
    if (channel === toServer) {
      const incoming = decode(ToServerEnvelopeSchema, raw);
      if (!incoming) return;
      if (incoming.type === 'message') onEvent({ at, direction: 'client-to-server', channel, kind: 'message', message: incoming.message });
      else if (incoming.type === 'standalone') onEvent({ at, direction: 'client-to-server', channel, kind: 'standalone', detail: { state: incoming.state } });
      else onEvent({ at, direction: 'client-to-server', channel, kind: 'probe', detail: { stream: incoming.streamKey } });
      return;
    }
    if (channel === control) {
      const incoming = decode(ControlEnvelopeSchema, raw);
      if (!incoming) return;
      onEvent({ at, direction: 'control', channel, kind: incoming.type, detail: { reason: incoming.reason } });
      if (incoming.type === 'shutdown') end(incoming.reason);
      return;
    }
    const incoming = decode(ToClientEnvelopeSchema, raw);
    if (!incoming) return;
    const stream = channel === legacy ? 'legacy' : streamKeyOfChannel(sessionId, channel);
    if (incoming.type === 'message') {
      onEvent({ at, direction: 'server-to-client', channel, kind: 'message', message: incoming.message });
      return;
    }
    const { v: _version, type, ...detail } = incoming;
    onEvent({ at, direction: 'server-to-client', channel, kind: type, detail: { ...detail, stream } });
    if (type === 'terminated' && (stream === STANDALONE_STREAM || stream === 'legacy')) end(incoming.reason);
  };

  await bus.subscribe([toServer, control, legacy], listener);
  try {
    await bus.pSubscribe(pattern, listener);
  } catch (error) {
    await bus.unsubscribe([toServer, control, legacy], listener).catch(() => undefined);
    throw error;
  }
  return {
    async close() {
      ended = true;
      await Promise.allSettled([bus.unsubscribe([toServer, control, legacy], listener), bus.pUnsubscribe(pattern, listener)]);
    },
  };
}
