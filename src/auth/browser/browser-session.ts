import { hkdfSync } from 'node:crypto';
import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';

/** A sign-in under way: what the browser's callback must bring back. */
export interface PendingSignIn {
  state: string;
  verifier: string;
}

interface SessionPayload {
  userId: string;
}

/** How long a browser has to come back from the authorization server. */
const SIGN_IN_TTL_S = 600;

/**
 * The values a signed-in browser carries in its cookies, sealed by the server
 * (the SDK's HMAC codec, with an expiry inside the seal): no store, so any
 * instance recognises them and none has anything to clean up. Each kind of
 * value is bound to its purpose, so one cannot pass for the other. The key is
 * derived (HKDF) from the key every instance already shares
 * (REQUEST_STATE_KEY), under a label of its own: the two uses never share a key.
 */
export class BrowserSessionSeal {
  private readonly session: RequestStateCodec<SessionPayload>;
  private readonly signIn: RequestStateCodec<PendingSignIn>;

  constructor(
    sharedKey: string,
    readonly ttlS: number,
  ) {
    const key = Buffer.from(hkdfSync('sha256', sharedKey, 'mcp-everything', 'browser-session-cookie', 32)).toString('base64url');
    this.session = createRequestStateCodec<SessionPayload>({ key, ttlSeconds: ttlS, bind: purposeOf });
    this.signIn = createRequestStateCodec<PendingSignIn>({ key, ttlSeconds: SIGN_IN_TTL_S, bind: purposeOf });
  }

  static readonly signInTtlS = SIGN_IN_TTL_S;

  sealSession(userId: string): Promise<string> {
    return this.session.mint({ userId }, purpose('session'));
  }

  /** The signed-in user, or undefined for a value that is missing, tampered with, expired or of another kind. */
  async userOf(sealed: string | undefined): Promise<string | undefined> {
    if (!sealed) return undefined;
    try {
      return (await this.session.verify(sealed, purpose('session'))).userId;
    } catch {
      return undefined;
    }
  }

  sealSignIn(pending: PendingSignIn): Promise<string> {
    return this.signIn.mint(pending, purpose('sign-in'));
  }

  async openSignIn(sealed: string | undefined): Promise<PendingSignIn | undefined> {
    if (!sealed) return undefined;
    try {
      return await this.signIn.verify(sealed, purpose('sign-in'));
    } catch {
      return undefined;
    }
  }
}

/** The codec binds each value to what `bind` returns for the context it is minted and verified with. */
type PurposeCarrier = { purpose: string };
const purpose = (value: string) => ({ purpose: value }) as PurposeCarrier as unknown as ServerContext;
const purposeOf = (ctx: ServerContext) => (ctx as unknown as PurposeCarrier).purpose;
