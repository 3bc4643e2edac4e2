import { randomUUID } from 'node:crypto';
import { UrlElicitationRequiredError, type ElicitRequestURLParams } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { PendingUrlElicitation, SessionFeatureState } from '../session-features.js';
import { defineTool, SESSION_SWITCH, textResult } from './types.js';

/**
 * URL-mode elicitation (spec 2025-11-25): the server sends the user to a URL
 * for an interaction that must not pass through the client. The server only
 * names the URL; it never fetches it.
 *
 * - Request path (default): `elicitation/create` with `mode: "url"`. When the
 *   user accepts, the server announces the (simulated) end of the out-of-band
 *   interaction with `notifications/elicitation/complete`.
 * - Error path (`errorPath: true`): the call fails with the JSON-RPC error
 *   -32042 (URLElicitationRequiredError) listing the elicitation to complete
 *   first. The retry of the same call (same URL) then succeeds, once.
 *
 * The 2026-07-28 era has no -32042 and no elicitation/complete: there the
 * question is one input_required round, whatever `errorPath` says.
 */

export const DEFAULT_ELICITATION_URL = 'https://modelcontextprotocol.io/specification/2025-11-25/client/elicitation';
export const MAX_URL_LENGTH = 2_048;
export const MAX_ELICITATION_MESSAGE_LENGTH = 1_000;
/** Error-path elicitations a session remembers while waiting for retries; the oldest is forgotten first. */
export const MAX_PENDING_URL_ELICITATIONS = 10;

const URL_ARGUMENT = z
  .string()
  .max(MAX_URL_LENGTH)
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  }, 'must be an absolute http: or https: URL');

function takePending(state: SessionFeatureState, url: string): PendingUrlElicitation | undefined {
  const pending = state.pendingUrlElicitations ?? [];
  const index = pending.findIndex((entry) => entry.url === url);
  if (index < 0) return undefined;
  const [entry] = pending.splice(index, 1);
  if (pending.length === 0) delete state.pendingUrlElicitations;
  return entry;
}

function remember(state: SessionFeatureState, entry: PendingUrlElicitation): void {
  const pending = (state.pendingUrlElicitations ??= []);
  pending.push(entry);
  if (pending.length > MAX_PENDING_URL_ELICITATIONS) pending.shift();
}

export const triggerUrlElicitationTool = defineTool({
  name: 'trigger-url-elicitation',
  description:
    'URL-mode elicitation: asks the client to open a URL (elicitation/create, mode "url"), or with errorPath fails with error -32042 (URL elicitation required) and succeeds on the retry. Needs the client capability elicitation.url',
  annotations: { title: 'Trigger URL Elicitation', ...SESSION_SWITCH, openWorldHint: true },
  args: z.object({
    url: URL_ARGUMENT.default(DEFAULT_ELICITATION_URL).describe(
      `The http(s) URL the user should open (at most ${MAX_URL_LENGTH} characters); the server never fetches it`,
    ),
    message: z
      .string()
      .min(1)
      .max(MAX_ELICITATION_MESSAGE_LENGTH)
      .default('Please open this page to continue.')
      .describe('Why the user should open the URL'),
    errorPath: z
      .boolean()
      .default(false)
      .describe('Fail with error -32042 (URLElicitationRequiredError) instead of sending elicitation/create'),
  }),
  run: async ({ url, message, errorPath }, { ask, requires, notify, session }) => {
    const params: ElicitRequestURLParams = { mode: 'url', elicitationId: randomUUID(), url, message };
    const question = { method: 'elicitation/create', params } as const;
    requires(question);

    if (errorPath && session) {
      const { state, controls } = session;
      const met = takePending(state, url);
      if (met) {
        controls.stateChanged();
        return textResult(`Retry succeeded: URL elicitation ${met.elicitationId} (${url}) is treated as completed.`);
      }
      remember(state, { url, elicitationId: params.elicitationId });
      controls.stateChanged();
      throw new UrlElicitationRequiredError([params], 'This request requires more information.');
    }

    const result = await ask(question);
    if (result.action === 'accept' && session) {
      // Nothing really happens out of band here, so the interaction "completes" at once.
      await notify({
        method: 'notifications/elicitation/complete',
        params: { elicitationId: params.elicitationId },
      });
    }
    return textResult(`URL elicitation ${params.elicitationId} (${url}): action=${result.action}`);
  },
});
