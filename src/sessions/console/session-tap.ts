import type { BusListener, MessageBus } from '../../store/bus.js';
import { channels, STANDALONE_STREAM } from '../../protocol/channels.js';
import {
  ControlEnvelopeSchema,
  decode,
  decodeValue,
  envelope,
  TapMirrorSchema,
  ToClientEnvelopeSchema,
  ToServerEnvelopeSchema,
} from '../../protocol/envelopes.js';

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

/** How often a tap asks the session's owner again to copy its messages (it promises TAP_FOR_MS each time). */
const RENEW_MS = 5_000;
const TAP_FOR_MS = 15_000;

/**
 * Watches one session's messages, both directions, as they cross the bus. A
 * session's channels are sharded and one per stream, which no pattern can
 * follow: the tap asks the session's owner (a `tap` control message, renewed
 * every RENEW_MS while the tap lasts) to copy every envelope it receives or
 * publishes to mcp:tap:{id}, and listens there only: a tap never listens on a
 * channel the session's traffic is delivered on, where it would count as a
 * receiver (a message nobody else hears must still be seen as unheard, so
 * that the session is taken over). An owner that takes the session over later
 * hears the next renewal. A session ended while nobody runs it is not
 * announced: the tap's caller checks now and then. What
 * the envelopes carry besides the message (the principal, allow-listed
 * request headers) stays out. `onEnd` is called once the session ends.
 */
export async function tapSession(
  bus: MessageBus,
  sessionId: string,
  onEvent: (event: TapEvent) => void,
  onEnd: (reason: string) => void,
  /** Sends a control envelope to the session (the edge's gateway: the only publisher to a session). */
  sendControl: (payload: string) => Promise<void>,
): Promise<Tap> {
  const tapChannel = channels.tap(sessionId);
  const legacy = channels.sseToClient(sessionId);
  const standalone = channels.toClient(sessionId, STANDALONE_STREAM);
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };

  const listener: BusListener = (raw) => {
    if (ended) return;
    const at = Date.now();
    const copy = decode(TapMirrorSchema, raw);
    if (!copy) return;
    if (copy.direction === 'control') {
      const incoming = decodeValue(ControlEnvelopeSchema, copy.envelope);
      if (incoming?.type !== 'shutdown') return;
      onEvent({ at, direction: 'control', channel: copy.channel, kind: incoming.type, detail: { reason: incoming.reason } });
      end(incoming.reason);
      return;
    }
    if (copy.direction === 'client-to-server') {
      const incoming = decodeValue(ToServerEnvelopeSchema, copy.envelope);
      if (!incoming) return;
      const base = { at, direction: copy.direction, channel: copy.channel };
      if (incoming.type === 'message') onEvent({ ...base, kind: 'message', message: incoming.message });
      else if (incoming.type === 'standalone') onEvent({ ...base, kind: 'standalone', detail: { state: incoming.state } });
      else onEvent({ ...base, kind: 'probe', detail: { stream: incoming.streamKey } });
      return;
    }
    const incoming = decodeValue(ToClientEnvelopeSchema, copy.envelope);
    if (!incoming) return;
    if (incoming.type === 'message') {
      onEvent({ at, direction: copy.direction, channel: copy.channel, kind: 'message', message: incoming.message });
      return;
    }
    const { v: _version, type, ...detail } = incoming;
    onEvent({ at, direction: copy.direction, channel: copy.channel, kind: type, detail });
    if (type === 'terminated' && (copy.channel === standalone || copy.channel === legacy)) end(incoming.reason);
  };

  const ask = () => sendControl(JSON.stringify(envelope.tap(Date.now() + TAP_FOR_MS))).catch(() => undefined);
  await bus.subscribe([tapChannel], listener);
  await ask();
  const renew = setInterval(() => void ask(), RENEW_MS);
  renew.unref();
  return {
    async close() {
      ended = true;
      clearInterval(renew);
      await bus.unsubscribe([tapChannel], listener).catch(() => undefined);
    },
  };
}
