import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';

/**
 * Multi round-trip state (2026-07-28): what a call learnt in earlier rounds,
 * sealed by the server, carried by the client, and given back on the retry.
 * Any instance may receive the retry, so every instance seals with the same
 * key (REQUEST_STATE_KEY); a second key (REQUEST_STATE_KEY_PREVIOUS) is still
 * accepted while a rotation rolls out. The seal (the SDK's HMAC codec) binds
 * the state to the user and to the request it belongs to (method and name),
 * and expires it after REQUEST_STATE_TTL_S.
 */

/** Answers the client gave in earlier rounds, by question key. */
export interface CallState {
  answers: Record<string, unknown>;
  /** Rounds so far: a call that keeps asking is stopped (MAX_ROUNDS). */
  rounds: number;
}

/** What the state is bound to: it is only good for the same user, method and target. */
export interface StateBinding {
  userId: string;
  method: string;
  /** The tool or prompt name, or the resource URI. */
  target: string;
}

/** Why a state was refused: the codec's fixed reason, never anything from the state itself. */
export class RequestStateRejected extends Error {}

/** The codec calls `bind` with a ServerContext; this one carries only the binding. */
type BindingCarrier = { binding: string };

function bindingOf(binding: StateBinding): string {
  // NUL cannot occur in a user id, a method or a name the server accepted: the parts cannot run together.
  return `${binding.userId}\0${binding.method}\0${binding.target}`;
}

export class RequestStateSeal {
  private readonly current: RequestStateCodec<CallState>;
  private readonly previous: RequestStateCodec<CallState> | undefined;

  constructor(key: string, previousKey: string | undefined, ttlSeconds: number) {
    const codec = (k: string) =>
      createRequestStateCodec<CallState>({
        key: k,
        ttlSeconds,
        bind: (ctx) => (ctx as unknown as BindingCarrier).binding,
      });
    this.current = codec(key);
    this.previous = previousKey ? codec(previousKey) : undefined;
  }

  seal(state: CallState, binding: StateBinding): Promise<string> {
    return this.current.mint(state, carrier(binding));
  }

  /** The state, or RequestStateRejected (tampered, expired, another user's or request's, unknown key). */
  async open(sealed: string, binding: StateBinding): Promise<CallState> {
    const ctx = carrier(binding);
    try {
      return await this.current.verify(sealed, ctx);
    } catch (error) {
      const reason = (error as Error).message;
      // Only a state signed with another key may be the previous key's.
      if (this.previous && reason === 'mac') {
        try {
          return await this.previous.verify(sealed, ctx);
        } catch (previousError) {
          throw new RequestStateRejected((previousError as Error).message);
        }
      }
      throw new RequestStateRejected(reason);
    }
  }
}

function carrier(binding: StateBinding): ServerContext {
  return { binding: bindingOf(binding) } as BindingCarrier as unknown as ServerContext;
}
