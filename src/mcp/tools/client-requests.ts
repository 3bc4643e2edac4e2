/**
 * Options for requests a tool sends to the client: they end with the tool
 * call (signal) and never wait longer than a user can be expected to answer.
 */
export const CLIENT_REQUEST_TIMEOUT_MS = 120_000;

export function clientRequestOptions(signal: AbortSignal): { signal: AbortSignal; timeout: number } {
  return { signal, timeout: CLIENT_REQUEST_TIMEOUT_MS };
}

/** Readable reason for a failed client request (timeout, client error, cancellation). */
export function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
