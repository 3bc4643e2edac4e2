import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { MessageBus } from '../store/bus.js';
import { channels } from '../protocol/channels.js';

/** The events a change may raise, as they travel between instances. */
const ChangeEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tools_list_changed') }),
  z.object({ kind: z.literal('prompts_list_changed') }),
  z.object({ kind: z.literal('resources_list_changed') }),
  z.object({ kind: z.literal('resource_updated'), uri: z.string().max(2048) }),
]);

/**
 * The instance's change events for subscriptions/listen (2026-07-28): the
 * SDK's ServerEventBus interface over the instance bus. An event published on
 * any instance goes through one channel (`mcp:events`) to every instance,
 * this one included, and each hands it to its own listen streams. One
 * subscription per instance, however many streams listen.
 */
export class ChangeEvents implements ServerEventBus {
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  private readonly onMessage = (message: string) => this.deliver(message);

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
  ) {}

  start(): Promise<void> {
    return this.bus.subscribe([channels.changeEvents], this.onMessage);
  }

  stop(): Promise<void> {
    return this.bus.unsubscribe([channels.changeEvents], this.onMessage);
  }

  publish(event: ServerEvent): void {
    // Only what listeners read crosses instances (not forwarded params).
    const wire = event.kind === 'resource_updated' ? { kind: event.kind, uri: event.uri } : { kind: event.kind };
    this.bus.publish(channels.changeEvents, JSON.stringify(wire)).catch((error: Error) => {
      this.logger.warn('change event not published', { kind: event.kind, error: error.message });
    });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  listChanged(list: 'tools' | 'prompts' | 'resources'): void {
    this.publish({ kind: `${list}_list_changed` });
  }

  resourceUpdated(uri: string): void {
    this.publish({ kind: 'resource_updated', uri });
  }

  private deliver(message: string): void {
    let event: ServerEvent;
    try {
      event = ChangeEventSchema.parse(JSON.parse(message));
    } catch {
      this.logger.warn('malformed change event ignored');
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn('listen stream failed on a change event', { error: (error as Error).message });
      }
    }
  }
}
