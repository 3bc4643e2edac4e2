import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { StoredEvent } from './event-ids.js';

/**
 * What travels on the Redis channels. Every envelope is JSON, validated with zod
 * when it arrives. Envelopes carry who is asking (user, client, scopes) and safe
 * request metadata — never a bearer token, refresh token or Authorization header.
 */

const ENVELOPE_VERSION = 1;

/**
 * The JSON-RPC message inside an envelope. Its shape is checked here; its content
 * was validated where it entered (the HTTP edge checks client messages against the
 * JSON-RPC schema; the SDK Server produced the server's) and the SDK that consumes
 * it validates it again, so a full schema here would only repeat that work on the
 * hot path.
 */
const EnvelopedMessageSchema = z
  .looseObject({ jsonrpc: z.literal('2.0'), method: z.string().optional(), id: z.union([z.string(), z.number()]).optional() })
  .refine((m) => m.method !== undefined || m.id !== undefined, 'not a JSON-RPC message') as unknown as z.ZodType<JSONRPCMessage>;

export const PrincipalSchema = z.object({
  userId: z.string().min(1).max(512),
  clientId: z.string().max(512),
  scopes: z.array(z.string().max(256)).max(64),
});
export type Principal = z.infer<typeof PrincipalSchema>;

const RequestMetaSchema = z.object({
  /** Headers the owner may show to tools (allow-listed; no credentials). */
  headers: z.record(z.string(), z.string()),
});
export type RequestMeta = z.infer<typeof RequestMetaSchema>;

/** Client→server, on mcp:shttp:toserver:{sessionId}. */
export const ToServerEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('message'),
    message: EnvelopedMessageSchema,
    principal: PrincipalSchema,
    /** Identifies the HTTP request carrying a client request, so replies reach it and no other. */
    delivery: z.string().max(64).optional(),
    request: RequestMetaSchema.optional(),
  }),
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('standalone'),
    state: z.enum(['open', 'closed']),
    principal: PrincipalSchema,
  }),
  /**
   * A client resumes a request's stream (GET with Last-Event-ID): is that request
   * still being served for that delivery? If not, the owner answers `rejected` on
   * the stream at once, so the resume does not wait for a reply that cannot come.
   */
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('probe'),
    streamKey: z.string().max(1100),
    delivery: z.string().max(64),
    principal: PrincipalSchema,
  }),
]);
export type ToServerEnvelope = z.infer<typeof ToServerEnvelopeSchema>;

/** Server→client, on mcp:shttp:toclient:{sessionId}:{streamKey} (and the legacy SSE channel). */
export const ToClientEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('message'),
    message: EnvelopedMessageSchema,
    delivery: z.string().max(64).optional(),
    /** Where the owner stored the message (Streamable HTTP): the stream can resume after it. */
    position: z.string().max(40).optional(),
  }),
  /** The owner refused the request (e.g. its id is already in flight); only that HTTP request ends. */
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('rejected'),
    delivery: z.string().max(64),
    requestId: z.union([z.string(), z.number()]),
    code: z.number().int(),
    reason: z.string().max(1024),
    /** The JSON-RPC error's data (a budget refusal names its setting there). */
    data: z.record(z.string().max(64), z.union([z.string().max(256), z.number()])).optional(),
  }),
  /**
   * The server closes this HTTP stream while its request goes on (SEP-1699 polling):
   * the client reconnects with Last-Event-ID after `retryMs`.
   */
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('close'),
    delivery: z.string().max(64).optional(),
    retryMs: z.number().int().min(0).max(3_600_000),
  }),
  /** The session ended (deleted, expired, shut down): every instance forgets it. */
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('terminated'),
    reason: z.string().max(1024),
  }),
  /** The stream has nothing more coming (request cancelled). */
  z.object({
    v: z.literal(ENVELOPE_VERSION),
    type: z.literal('end'),
    delivery: z.string().max(64).optional(),
    reason: z.string().max(1024),
  }),
]);
export type ToClientEnvelope = z.infer<typeof ToClientEnvelopeSchema>;

/** On mcp:control:{sessionId}. */
export const ControlEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(ENVELOPE_VERSION), type: z.literal('shutdown'), reason: z.string().max(1024) }),
  /** Someone taps the session ("my sessions"): its owner copies its messages to mcp:tap:{sessionId} until then (epoch ms). */
  z.object({ v: z.literal(ENVELOPE_VERSION), type: z.literal('tap'), untilMs: z.number().int().min(0) }),
]);
export type ControlEnvelope = z.infer<typeof ControlEnvelopeSchema>;

/**
 * On mcp:console:ask: an instance wants every instance's view of one user's
 * sessions (the "my sessions" page). Low rate: one per page refresh.
 */
export const CensusAskSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  askId: z.string().max(64),
  /** Where to answer: the asking instance's reply channel. */
  replyTo: z.string().max(128),
  userId: z.string().min(1).max(512),
  sessionIds: z.array(z.string().max(64)).max(1000),
});
export type CensusAsk = z.infer<typeof CensusAskSchema>;

const count = z.number().int().min(0).max(1_000_000);

/** What one instance holds of one session. */
export const SessionHoldingSchema = z.object({
  /** Present on the instance running the session. */
  owned: z
    .object({ inFlight: count, standaloneOpen: z.boolean(), lastActivity: z.number().int().min(0) })
    .optional(),
  /** Client event streams this instance serves for the session. */
  streams: z.object({ request: count, standalone: count, legacy: count }),
});
export type SessionHolding = z.infer<typeof SessionHoldingSchema>;

/** On the asker's mcp:console:replies:{instanceId}: one instance's answer. */
export const CensusReplySchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  askId: z.string().max(64),
  instanceId: z.string().max(64),
  sessions: z.record(z.string().max(64), SessionHoldingSchema),
});
export type CensusReply = z.infer<typeof CensusReplySchema>;

export const envelope = {
  message: (
    message: JSONRPCMessage,
    principal: Principal,
    delivery?: string,
    request?: RequestMeta,
  ): ToServerEnvelope => ({ v: ENVELOPE_VERSION, type: 'message', message, principal, delivery, request }),
  standalone: (state: 'open' | 'closed', principal: Principal): ToServerEnvelope => ({
    v: ENVELOPE_VERSION,
    type: 'standalone',
    state,
    principal,
  }),
  probe: (streamKey: string, delivery: string, principal: Principal): ToServerEnvelope => ({
    v: ENVELOPE_VERSION,
    type: 'probe',
    streamKey,
    delivery,
    principal,
  }),
  reply: (message: JSONRPCMessage, delivery?: string, position?: string): ToClientEnvelope => ({
    v: ENVELOPE_VERSION,
    type: 'message',
    message,
    delivery,
    position,
  }),
  close: (retryMs: number, delivery?: string): ToClientEnvelope => ({ v: ENVELOPE_VERSION, type: 'close', delivery, retryMs }),
  rejected: (
    delivery: string,
    requestId: string | number,
    code: number,
    reason: string,
    data?: Record<string, string | number>,
  ): ToClientEnvelope => ({ v: ENVELOPE_VERSION, type: 'rejected', delivery, requestId, code, reason, ...(data && { data }) }),
  end: (reason: string, delivery?: string): ToClientEnvelope => ({ v: ENVELOPE_VERSION, type: 'end', reason, delivery }),
  terminated: (reason: string): ToClientEnvelope => ({ v: ENVELOPE_VERSION, type: 'terminated', reason }),
  shutdown: (reason: string): ControlEnvelope => ({ v: ENVELOPE_VERSION, type: 'shutdown', reason }),
  tap: (untilMs: number): ControlEnvelope => ({ v: ENVELOPE_VERSION, type: 'tap', untilMs }),
  /** A message read back from the event log, as it was published. */
  stored: (event: StoredEvent): ToClientEnvelope =>
    envelope.reply(JSON.parse(event.message) as JSONRPCMessage, event.delivery, event.position),
};

/**
 * A `message` reply serialized around an already serialized JSON-RPC message, so
 * that the owner stringifies each message once for both the event log and the bus.
 * Equivalent to JSON.stringify(envelope.reply(...)) — tested so.
 */
export function serializeReply(messageJson: string, delivery?: string, position?: string): string {
  let json = `{"v":${ENVELOPE_VERSION},"type":"message"`;
  if (delivery !== undefined) json += `,"delivery":${JSON.stringify(delivery)}`;
  if (position !== undefined) json += `,"position":${JSON.stringify(position)}`;
  return `${json},"message":${messageJson}}`;
}

export type TapDirection = 'client-to-server' | 'server-to-client' | 'control';

/** On mcp:tap:{sessionId}: one envelope of the session as it crossed `channel`, copied by the owner. */
export const TapMirrorSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  direction: z.enum(['client-to-server', 'server-to-client', 'control']),
  channel: z.string().max(1200),
  envelope: z.unknown(),
});

/** A tap copy around an envelope already serialized (the owner copies what it sent or received, as it was). */
export function serializeTapMirror(direction: TapDirection, channel: string, envelopeJson: string): string {
  return `{"v":${ENVELOPE_VERSION},"direction":"${direction}","channel":${JSON.stringify(channel)},"envelope":${envelopeJson}}`;
}

/** Parses an envelope from the wire; undefined (never a throw) for anything malformed. */
export function decode<T>(schema: z.ZodType<T>, raw: string): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return decodeValue(schema, json);
}

/** Validates an envelope already parsed (one nested in another); undefined for anything malformed. */
export function decodeValue<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
