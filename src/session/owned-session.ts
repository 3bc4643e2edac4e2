import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { createEverythingServer } from '../mcp/everything-server.js';
import { initialFeatureState, type StandaloneListener } from '../mcp/session-features.js';
import type { MessageBus } from '../routing/bus.js';
import type { EventStore } from '../routing/event-store.js';
import type { TaskRecords } from '../tasks/task-records.js';
import { UserTaskStore } from '../tasks/user-task-store.js';
import { channels } from '../routing/channels.js';
import { ControlEnvelopeSchema, decode, ToServerEnvelopeSchema } from '../routing/envelopes.js';
import type { Logger } from '../observability/logger.js';
import { OwnerTransport } from './owner-transport.js';
import type { SessionMeta } from './session-directory.js';

export interface OwnedSessionDeps {
  bus: MessageBus;
  events: EventStore;
  tasks: TaskRecords;
  logger: Logger;
  resourceUpdateIntervalMs: number;
  /** Called when a shutdown for this session arrives on its control channel. */
  onShutdownRequest: (session: OwnedSession, reason: string) => void;
}

/**
 * A session on its owning instance: the SDK Server, its transport, and the
 * subscriptions that feed it. Holds no timers of its own; the host's sweep
 * decides when it has been idle too long.
 */
export class OwnedSession implements StandaloneListener {
  lastActivity = Date.now();
  private server: Server | undefined;
  private disposeFeatures: (() => void) | undefined;
  private readonly transport: OwnerTransport;
  private standaloneStreams = 0;
  private readonly listenerCallbacks: Array<() => void> = [];
  private disposed = false;

  constructor(
    readonly sessionId: string,
    readonly userId: string,
    readonly meta: SessionMeta,
    private readonly deps: OwnedSessionDeps,
  ) {
    this.transport = new OwnerTransport(sessionId, meta.transport, deps.bus, meta.transport === 'shttp' ? deps.events : undefined, this.markActive);
  }

  get inflightCount(): number {
    return this.transport.inflightCount;
  }

  async start(): Promise<void> {
    const { server, dispose } = createEverythingServer({
      sessionId: this.sessionId,
      state: initialFeatureState(),
      listener: this,
      updateIntervalMs: this.deps.resourceUpdateIntervalMs,
      taskStore: new UserTaskStore(this.deps.tasks, this.userId, this.sessionId),
    });
    this.server = server;
    this.disposeFeatures = dispose;
    server.onerror = (error) => this.deps.logger.debug('mcp server error', { sessionId: this.sessionId, error: error.message });
    await server.connect(this.transport);
    await this.deps.bus.subscribe([channels.toServer(this.sessionId), channels.control(this.sessionId)], this.onBusMessage);
  }

  /** Stops the Server, ends every stream still waiting, releases the subscriptions. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeFeatures?.();
    await this.deps.bus
      .unsubscribe([channels.toServer(this.sessionId), channels.control(this.sessionId)], this.onBusMessage)
      .catch(() => undefined);
    await this.server?.close().catch(() => undefined);
  }

  isOpen(): boolean {
    // Legacy SSE sessions exist only while their stream is open.
    return this.meta.transport === 'sse' || this.standaloneStreams > 0;
  }

  onChange(callback: () => void): void {
    this.listenerCallbacks.push(callback);
  }

  private readonly markActive = (): void => {
    this.lastActivity = Date.now();
  };

  private readonly onBusMessage = (raw: string, channel: string): void => {
    if (channel === channels.control(this.sessionId)) {
      const control = decode(ControlEnvelopeSchema, raw);
      if (control?.type === 'shutdown') this.deps.onShutdownRequest(this, control.reason);
      return;
    }
    const incoming = decode(ToServerEnvelopeSchema, raw);
    if (!incoming) {
      this.deps.logger.warn('dropped malformed envelope', { sessionId: this.sessionId, channel });
      return;
    }
    if (incoming.principal.userId !== this.userId) {
      // The edge checks ownership before publishing; this is the second lock on the door.
      this.deps.logger.warn('dropped envelope from another user', { sessionId: this.sessionId });
      return;
    }
    if (incoming.type === 'standalone') {
      this.markActive();
      this.standaloneStreams = Math.max(0, this.standaloneStreams + (incoming.state === 'open' ? 1 : -1));
      for (const callback of this.listenerCallbacks) callback();
      return;
    }
    this.transport.receive(incoming);
  };
}
