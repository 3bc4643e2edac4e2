import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createEverythingServer, type EverythingServer } from '../../src/mcp/everything-server.js';
import { initialFeatureState, type SessionFeatureState, type StandaloneListener } from '../../src/mcp/session-features.js';

/**
 * One everything-server session joined in memory to an SDK client, without
 * HTTP or a bus: for unit tests of the feature set, and for trying a feature
 * from a script. Records what the server sends and on which request it rides.
 */

/** A standalone stream that the caller opens and closes at will. */
export class ManualListener implements StandaloneListener {
  private open: boolean;
  private readonly callbacks: Array<() => void> = [];
  constructor(open = false) {
    this.open = open;
  }
  isOpen(): boolean {
    return this.open;
  }
  onChange(callback: () => void): void {
    this.callbacks.push(callback);
  }
  set(open: boolean): void {
    this.open = open;
    for (const callback of this.callbacks) callback();
  }
}

export interface SentMessage {
  message: JSONRPCMessage;
  /** The client request the message answers or belongs to; undefined for the standalone stream. */
  relatedRequestId: unknown;
}

export interface InMemorySessionOptions {
  capabilities?: NonNullable<ClientOptions['capabilities']>;
  state?: SessionFeatureState;
  listenerOpen?: boolean;
  updateIntervalMs?: number;
  simulatedLogIntervalMs?: number;
}

export interface InMemorySession {
  client: Client;
  everything: EverythingServer;
  state: SessionFeatureState;
  stateChanges: SessionFeatureState[];
  listener: ManualListener;
  sent: SentMessage[];
  close(): Promise<void>;
}

export async function connectInMemory(options: InMemorySessionOptions = {}): Promise<InMemorySession> {
  const state = options.state ?? initialFeatureState();
  const stateChanges: SessionFeatureState[] = [];
  const listener = new ManualListener(options.listenerOpen ?? false);
  const everything = createEverythingServer({
    sessionId: 'in-memory-session',
    state,
    listener,
    onStateChange: (changed) => stateChanges.push(changed),
    ...(options.updateIntervalMs !== undefined ? { updateIntervalMs: options.updateIntervalMs } : {}),
    ...(options.simulatedLogIntervalMs !== undefined ? { simulatedLogIntervalMs: options.simulatedLogIntervalMs } : {}),
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const sent: SentMessage[] = [];
  const send = serverTransport.send.bind(serverTransport);
  serverTransport.send = (message, sendOptions) => {
    // A copy: the in-memory client receives (and may modify) the very same object.
    sent.push({ message: structuredClone(message), relatedRequestId: sendOptions?.relatedRequestId });
    return send(message, sendOptions);
  };
  const client = new Client({ name: 'in-memory-client', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await everything.server.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    everything,
    state,
    stateChanges,
    listener,
    sent,
    async close() {
      everything.dispose();
      await client.close();
    },
  };
}

/** Notifications the server sent with the given method. */
export function sentNotifications(sent: readonly SentMessage[], method: string): SentMessage[] {
  return sent.filter(({ message }) => 'method' in message && message.method === method && !('id' in message));
}

/** Requests the server sent to the client with the given method. */
export function sentRequests(sent: readonly SentMessage[], method: string): SentMessage[] {
  return sent.filter(({ message }) => 'method' in message && message.method === method && 'id' in message);
}
