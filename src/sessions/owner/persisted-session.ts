import { LoggingLevelSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { SessionFeatureState } from '../../mcp/session-features.js';

/**
 * What a session needs to be rebuilt on any instance: what initialize negotiated
 * (replayed into a fresh SDK Server) and the everything server's feature state.
 * Stored as JSON in `mcp:session:{id}:state`, validated when read back.
 */
const PersistedSessionSchema = z.object({
  v: z.literal(1),
  init: z
    .object({
      protocolVersion: z.string().max(64),
      capabilities: z.record(z.string(), z.unknown()),
      clientInfo: z.looseObject({ name: z.string().max(512), version: z.string().max(512) }),
    })
    .optional(),
  features: z.object({
    logLevel: LoggingLevelSchema,
    subscriptions: z.array(z.string().max(2048)).max(100),
    simulatedLogging: z.boolean().optional(),
    subscriberUpdates: z.boolean().optional(),
    dynamicFeatures: z.boolean().optional(),
    pendingUrlElicitations: z.array(z.object({ url: z.string().max(2048), elicitationId: z.string().max(256) })).max(10).optional(),
  }),
  /** Handed over with requests still in flight on the instance that left it: they may finish there until then (ms). */
  busyUntil: z.number().int().optional(),
});

export type PersistedSession = z.infer<typeof PersistedSessionSchema>;
export type InitParams = NonNullable<PersistedSession['init']>;

export function serializeSession(init: InitParams | undefined, features: SessionFeatureState, busyUntil?: number): string {
  const persisted: PersistedSession = {
    v: 1,
    ...(init && { init }),
    features: { ...features, subscriptions: [...features.subscriptions] },
    ...(busyUntil !== undefined && { busyUntil }),
  };
  return JSON.stringify(persisted);
}

/** The stored session, or undefined when the record is missing or not one we wrote. */
export function parseSession(raw: string | null): { init?: InitParams; features: SessionFeatureState; busyUntil?: number } | undefined {
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = PersistedSessionSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { features, init, busyUntil } = parsed.data;
  return { init, features: { ...features, subscriptions: new Set(features.subscriptions) }, busyUntil };
}
