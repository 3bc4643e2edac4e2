import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';

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

/**
 * Since 2025-11-25 a client lists the elicitation modes it supports; an empty
 * `elicitation` object (older clients) means form mode.
 */
export function supportsFormElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  return elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
}

/** URL mode exists since 2025-11-25 and only for clients that declare `elicitation.url`. */
export function supportsUrlElicitation(capabilities: ClientCapabilities | undefined): boolean {
  return capabilities?.elicitation?.url !== undefined;
}
