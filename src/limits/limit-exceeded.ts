import { McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * A budget ran out (docs/operations.md, "Limits"). Carries what the client and
 * the operator need: which setting bounds it, its value, and whose share it was.
 * The HTTP edge turns it into 429 (the client's own share: user, session,
 * address) or 503 (the instance's), with Retry-After; the owner into a JSON-RPC
 * error. Both name the setting.
 */
export type LimitScope = 'user' | 'session' | 'address' | 'instance';

/** JSON-RPC code of every budget refusal (implementation-defined server error range). */
export const LIMIT_EXCEEDED_CODE = -32000;

export class LimitExceeded extends Error {
  constructor(
    /** The environment variable that sets the bound. */
    readonly setting: string,
    readonly limit: number,
    readonly scope: LimitScope,
    /** What ran out, for people: "open streams for this user on this instance". */
    what: string,
    /** When to try again, in seconds. */
    readonly retryAfterS = 1,
  ) {
    super(`Limit exceeded: ${what} (at most ${limit}, ${setting})`);
  }

  /** 503 when the instance is full (another instance may serve it), 429 when the caller used its share. */
  get httpStatus(): 429 | 503 {
    return this.scope === 'instance' ? 503 : 429;
  }

  /** The JSON-RPC error `data`: machine-readable, for clients that want to back off. */
  get data(): { limit: string; max: number; scope: LimitScope } {
    return { limit: this.setting, max: this.limit, scope: this.scope };
  }

  /** The refusal as an SDK handler raises it: the same code, message and data as every other refusal. */
  toMcpError(): McpError {
    const error = new McpError(LIMIT_EXCEEDED_CODE, this.message, this.data);
    // The SDK sends `message` as it is: without McpError's "MCP error -32000:" prefix.
    error.message = this.message;
    return error;
  }
}
