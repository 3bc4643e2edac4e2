import type { ServerEvent } from '@modelcontextprotocol/server';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Budget } from '../limits/budget.js';
import type { ChangeEvents } from './change-events.js';
import { completeResult, META } from './wire.js';

/** Resource URIs one listen stream may follow, and how long each may be. */
export const MAX_LISTEN_RESOURCES = 100;
const MAX_URI_LENGTH = 2048;

/** What a subscriptions/listen request asks for (the spec's SubscriptionFilter, bounded). */
export const ListenFilterSchema = z.object({
  toolsListChanged: z.boolean().optional(),
  promptsListChanged: z.boolean().optional(),
  resourcesListChanged: z.boolean().optional(),
  resourceSubscriptions: z.array(z.string().max(MAX_URI_LENGTH)).max(MAX_LISTEN_RESOURCES).optional(),
});
export type ListenFilter = z.infer<typeof ListenFilterSchema>;

/** Where a listen stream writes: an event stream the HTTP layer owns. */
export interface ListenSink {
  send(message: object): void;
  /** The client left more unread than the stream may hold. */
  readonly isFull: boolean;
  /** Resolves once the client read what the stream held (or it closed). */
  drained(): Promise<void>;
  /** Ends the response (after a last message, if any). */
  end(last?: object): void;
}

/** Which notification an event is, and whether a filter asked for it. */
function notificationFor(event: ServerEvent, filter: ListenFilter): { method: string; uri?: string } | undefined {
  switch (event.kind) {
    case 'tools_list_changed':
      return filter.toolsListChanged ? { method: 'notifications/tools/list_changed' } : undefined;
    case 'prompts_list_changed':
      return filter.promptsListChanged ? { method: 'notifications/prompts/list_changed' } : undefined;
    case 'resources_list_changed':
      return filter.resourcesListChanged ? { method: 'notifications/resources/list_changed' } : undefined;
    case 'resource_updated':
      return filter.resourceSubscriptions?.includes(event.uri) ? { method: 'notifications/resources/updated', uri: event.uri } : undefined;
  }
}

/**
 * One subscriptions/listen stream (2026-07-28): acknowledged at once with the
 * filter it honours, then every matching change event, each tagged with the
 * subscription id (the listen request's id). A stream whose client stops
 * reading is not written to: what it missed is kept as a set of pending
 * notifications (list changes and updates are idempotent hints, so one of
 * each is enough) and sent once the client reads again.
 */
export class ListenStream {
  private readonly pending = new Map<string, { method: string; uri?: string }>();
  private waiting = false;
  private closed = false;

  constructor(
    readonly id: RequestId,
    readonly filter: ListenFilter,
    private readonly sink: ListenSink,
  ) {}

  acknowledge(): void {
    this.sink.send({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [META.subscriptionId]: this.id }, notifications: this.filter },
    });
  }

  /** A change event of any instance; sent when the filter asked for it. */
  offer(event: ServerEvent): void {
    const notification = notificationFor(event, this.filter);
    if (notification) this.emit(notification);
  }

  /** The periodic simulated update of every resource this stream follows. */
  tick(): void {
    for (const uri of this.filter.resourceSubscriptions ?? []) this.emit({ method: 'notifications/resources/updated', uri });
  }

  /** Ends the subscription gracefully (server drain): the listen request gets its result. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.end({ jsonrpc: '2.0', id: this.id, result: completeResult({ _meta: { [META.subscriptionId]: this.id } }) });
  }

  /** The client went away: nothing more is written. */
  abandon(): void {
    this.closed = true;
  }

  private emit(notification: { method: string; uri?: string }): void {
    if (this.closed) return;
    if (this.sink.isFull || this.waiting) {
      this.pending.set(`${notification.method} ${notification.uri ?? ''}`, notification);
      this.flushWhenDrained();
      return;
    }
    this.sink.send(this.message(notification));
  }

  private message({ method, uri }: { method: string; uri?: string }): object {
    return { jsonrpc: '2.0', method, params: { ...(uri !== undefined && { uri }), _meta: { [META.subscriptionId]: this.id } } };
  }

  private flushWhenDrained(): void {
    if (this.waiting) return;
    this.waiting = true;
    void this.sink.drained().then(() => {
      this.waiting = false;
      if (this.closed) return;
      const missed = [...this.pending.values()];
      this.pending.clear();
      for (const notification of missed) this.sink.send(this.message(notification));
    });
  }
}

/**
 * The listen streams open on this instance: each holds a unit of the listen
 * budgets (MAX_LISTEN_STREAMS_PER_USER / _PER_INSTANCE) while it is open.
 * They share the instance's one subscription to change events, and one timer
 * for simulated resource updates, which runs only while a stream follows a
 * resource. Every instance ticks for its own streams only, so an update is
 * never multiplied by the number of instances.
 */
export class ListenStreams {
  private readonly open = new Set<ListenStream>();
  private following = 0;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: ChangeEvents,
    private readonly budget: Budget,
    private readonly updateIntervalMs: number,
  ) {}

  /** Registers a stream, or throws LimitExceeded. Returns the function that closes it. */
  add(userId: string, stream: ListenStream): () => void {
    const release = this.budget.acquire(userId);
    const unsubscribe = this.events.subscribe((event) => stream.offer(event));
    const follows = (stream.filter.resourceSubscriptions?.length ?? 0) > 0;
    this.open.add(stream);
    if (follows) this.follow(1);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      unsubscribe();
      this.open.delete(stream);
      if (follows) this.follow(-1);
      release();
    };
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends every stream with its result (drain). */
  finishAll(): void {
    for (const stream of this.open) stream.finish();
  }

  private follow(delta: number): void {
    this.following += delta;
    if (this.following > 0 && !this.ticker) {
      this.ticker = setInterval(() => {
        for (const stream of this.open) stream.tick();
      }, this.updateIntervalMs);
      this.ticker.unref();
    } else if (this.following === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
