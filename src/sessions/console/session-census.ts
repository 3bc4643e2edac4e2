import { randomBytes } from 'node:crypto';
import type { Logger } from '../../observability/logger.js';
import type { MessageBus } from '../../store/bus.js';
import { channels } from '../../protocol/channels.js';
import {
  CensusAskSchema,
  CensusReplySchema,
  decode,
  type CensusAsk,
  type CensusReply,
  type SessionHolding,
} from '../../protocol/envelopes.js';
import type { ClientStreamHub } from '../streams/client-stream-hub.js';
import type { SessionHost } from '../owner/session-host.js';

/** How long an ask waits for the instances that heard it to answer. */
const ANSWER_WINDOW_MS = 500;
/** Asks this instance may have waiting at once (each page refresh makes one). */
const MAX_PENDING_ASKS = 100;

export interface Census {
  /** Every instance's holdings of the sessions, by session id then instance id. */
  holdings: Map<string, Map<string, SessionHolding>>;
  /** Instances that answered, and how many are alive (the registry of instances; the embedded mode is one). */
  answered: number;
  heard: number;
}

interface Pending {
  replies: CensusReply[];
  expected: number;
  done: () => void;
}

/**
 * What every instance holds of one user's sessions, right now: which instance
 * runs each session (its requests in flight, its standalone stream, its last
 * activity) and which instances serve its client streams. Streams live at the
 * edges, on any instance, so no store can tell: the asking instance publishes
 * one ask to all instances (one channel, subscribed once per instance) and
 * collects their answers on its own reply channel, for at most ANSWER_WINDOW_MS.
 * Written by hand: this is a scatter-gather over the bus the service already
 * has, not worth a library.
 * Waits for as many answers as there are live instances (see InstanceLease).
 */
export class SessionCensus {
  private readonly pending = new Map<string, Pending>();
  private readonly replyChannel: string;
  private asks = 0;

  constructor(
    private readonly instanceId: string,
    private readonly bus: MessageBus,
    private readonly host: SessionHost,
    private readonly hub: ClientStreamHub,
    /** How many instances are alive, and so should answer. */
    private readonly liveInstances: () => Promise<number>,
    private readonly logger: Logger,
  ) {
    this.replyChannel = channels.censusReplies(instanceId);
  }

  async start(): Promise<void> {
    await this.bus.subscribe([channels.censusAsk], this.onAsk);
    await this.bus.subscribe([this.replyChannel], this.onReply);
  }

  async stop(): Promise<void> {
    await this.bus.unsubscribe([channels.censusAsk], this.onAsk).catch(() => undefined);
    await this.bus.unsubscribe([this.replyChannel], this.onReply).catch(() => undefined);
    for (const pending of this.pending.values()) pending.done();
  }

  /** Asks every instance about these sessions of the user. */
  async ask(userId: string, sessionIds: string[]): Promise<Census> {
    if (this.pending.size >= MAX_PENDING_ASKS) throw new Error('too many census asks waiting');
    const askId = `${this.instanceId}.${(this.asks++).toString(36)}.${randomBytes(4).toString('hex')}`;
    const pending: Pending = { replies: [], expected: Number.POSITIVE_INFINITY, done: () => undefined };
    const finished = new Promise<void>((resolve) => (pending.done = resolve));
    this.pending.set(askId, pending);
    const timer = setTimeout(() => pending.done(), ANSWER_WINDOW_MS);
    try {
      const ask: CensusAsk = { v: 1, askId, replyTo: this.replyChannel, userId, sessionIds };
      // The live instances, not PUBLISH's receiver count: a watcher (redis-cli) would count too,
      // and a Redis Cluster counts one node's subscribers only.
      const [expected] = await Promise.all([this.liveInstances(), this.bus.publish(channels.censusAsk, JSON.stringify(ask))]);
      pending.expected = expected;
      if (pending.replies.length >= pending.expected) pending.done();
      await finished;
    } finally {
      clearTimeout(timer);
      this.pending.delete(askId);
    }
    const holdings = new Map<string, Map<string, SessionHolding>>();
    for (const reply of pending.replies) {
      for (const [sessionId, holding] of Object.entries(reply.sessions)) {
        if (!sessionIds.includes(sessionId)) continue;
        const byInstance = holdings.get(sessionId) ?? new Map<string, SessionHolding>();
        byInstance.set(reply.instanceId, holding);
        holdings.set(sessionId, byInstance);
      }
    }
    return { holdings, answered: pending.replies.length, heard: pending.expected };
  }

  /** What this instance holds of the user's sessions (only sessions it runs for that user, or serves streams of). */
  holdingsHere(userId: string, sessionIds: string[]): Record<string, SessionHolding> {
    const sessions: Record<string, SessionHolding> = {};
    for (const sessionId of sessionIds) {
      const owned = this.host.owned(sessionId, userId);
      const { request, standalone } = this.hub.streamsOf(sessionId);
      const legacy = owned?.meta.transport === 'sse' ? 1 : 0;
      if (!owned && request + standalone === 0) continue;
      sessions[sessionId] = { ...(owned && { owned: owned.holding() }), streams: { request, standalone, legacy } };
    }
    return sessions;
  }

  private readonly onAsk = (raw: string): void => {
    const ask = decode(CensusAskSchema, raw);
    // Answers go to a reply channel and nowhere else (never, say, a session's channel).
    if (!ask || !ask.replyTo.startsWith(channels.censusReplies(''))) return;
    const reply: CensusReply = { v: 1, askId: ask.askId, instanceId: this.instanceId, sessions: this.holdingsHere(ask.userId, ask.sessionIds) };
    this.bus
      .publish(ask.replyTo, JSON.stringify(reply))
      .catch((error: Error) => this.logger.debug('census answer not sent', { error: error.message }));
  };

  private readonly onReply = (raw: string): void => {
    const reply = decode(CensusReplySchema, raw);
    const pending = reply && this.pending.get(reply.askId);
    if (!pending) return;
    pending.replies.push(reply);
    if (pending.replies.length >= pending.expected) pending.done();
  };
}
