import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { MessageBus } from '../store/bus.js';
import { REVOCATIONS_CHANNEL } from '../protocol/auth-keys.js';

/**
 * What travels on mcp:auth:revocations: the id of a revoked access token, or of a
 * revoked grant (a whole token family). Never a token or a hash of one.
 */
const RevocationSchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(1), type: z.literal('access'), tokenId: z.string().min(1).max(64) }),
  z.object({ v: z.literal(1), type: z.literal('grant'), grantId: z.string().min(1).max(64), reason: z.string().max(200) }),
]);
export type Revocation = z.infer<typeof RevocationSchema>;

export type RevocationListener = (revocation: Revocation) => void;

/**
 * Tells every instance (this one included, synchronously) that tokens were
 * revoked, so that their caches of verified tokens drop them at once. Caching is
 * safe only while the subscription stands: `active` says so.
 */
export class RevocationFeed {
  private readonly listeners = new Set<RevocationListener>();
  private subscribed = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
  ) {}

  get active(): boolean {
    return this.subscribed;
  }

  async start(): Promise<void> {
    await this.bus.subscribe([REVOCATIONS_CHANNEL], this.receive);
    this.subscribed = true;
  }

  onRevocation(listener: RevocationListener): void {
    this.listeners.add(listener);
  }

  async publish(revocation: Revocation): Promise<void> {
    this.dispatch(revocation);
    try {
      await this.bus.publish(REVOCATIONS_CHANNEL, JSON.stringify(revocation));
    } catch (error) {
      // The revocation itself is stored; other instances' caches forget the token within their entry lifetime.
      this.logger.warn('could not publish a revocation', { error: (error as Error).message });
    }
  }

  private readonly receive = (raw: string): void => {
    let parsed: ReturnType<typeof RevocationSchema.safeParse>;
    try {
      parsed = RevocationSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = RevocationSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      this.logger.warn('dropped a malformed revocation message');
      return;
    }
    this.dispatch(parsed.data);
  };

  private dispatch(revocation: Revocation): void {
    for (const listener of this.listeners) listener(revocation);
  }
}
