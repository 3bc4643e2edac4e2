/**
 * The 2026-07-28 era on the wire, for tests that control every header and
 * field: stateless requests with the per-request `_meta` envelope, their
 * answers (JSON, or an event stream when notifications come first),
 * input_required rounds, and subscriptions/listen streams read as they arrive.
 * Also a fetch wrapper that records what the v2 SDK client sends and receives.
 */
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { sseMessages, sseReader, waitUntil } from './raw-mcp.js';

export const MODERN_REVISION = '2026-07-28';

export const META_KEYS = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** Capabilities a raw client declares unless a test says otherwise: it can answer every kind of question. */
export const ALL_CLIENT_CAPABILITIES = { elicitation: { form: {} }, sampling: {}, roots: {} };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON-RPC shapes
export type Json = Record<string, any>;

export interface EnvelopeOptions {
  capabilities?: unknown;
  version?: string;
  /** Extra `_meta` keys (a log level, a progress token), or keys to override. */
  meta?: Json;
}

/** The `_meta` envelope every 2026-07-28 request carries. */
export function modernMeta(options: EnvelopeOptions = {}): Json {
  return {
    [META_KEYS.protocolVersion]: options.version ?? MODERN_REVISION,
    [META_KEYS.clientCapabilities]: options.capabilities ?? ALL_CLIENT_CAPABILITIES,
    [META_KEYS.clientInfo]: { name: 'raw-modern', version: '1' },
    ...options.meta,
  };
}

/** A 2026-07-28 request body: `params` with the envelope added to its `_meta`. */
export function modernRequest(id: string | number, method: string, params: Json = {}, options: EnvelopeOptions = {}): Json {
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...modernMeta(options), ...params._meta } } };
}

/** What Mcp-Name must repeat for a method, if anything. */
export function nameFor(method: string, params: Json | undefined): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return typeof params?.name === 'string' ? params.name : undefined;
  if (method === 'resources/read') return typeof params?.uri === 'string' ? params.uri : undefined;
  return undefined;
}

/** The headers of a 2026-07-28 POST for this body (Mcp-Method and Mcp-Name from the body itself). */
export function modernHeaders(body: Json, token?: string, overrides: Record<string, string> = {}): Record<string, string> {
  const name = nameFor(body.method, body.params);
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN_REVISION,
    ...(typeof body.method === 'string' ? { 'mcp-method': body.method } : {}),
    ...(name !== undefined ? { 'mcp-name': name } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...overrides,
  };
}

export interface ModernAnswer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
  /** Every JSON-RPC message of the answer (notifications first when it was a stream). */
  messages: Json[];
  /** The response to the request (the message with an id). */
  response: Json | undefined;
}

export interface PostOptions {
  token?: string;
  /** Headers to add or replace (a header set to '' is still sent; use `omit` to leave one out). */
  headers?: Record<string, string>;
  omit?: string[];
  signal?: AbortSignal;
}

/** POSTs a body (built by the test, or any JSON) to /mcp as a 2026-07-28 request and reads the whole answer. */
export async function modernPost(url: string, body: unknown, options: PostOptions = {}): Promise<ModernAnswer> {
  const headers = modernHeaders((body ?? {}) as Json, options.token, options.headers);
  for (const name of options.omit ?? []) delete headers[name];
  const response = await fetch(`${url}/mcp`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), signal: options.signal });
  const text = await response.text();
  let messages: Json[] = [];
  try {
    messages = text === '' ? [] : sseMessages(text);
  } catch {
    messages = [];
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    headers: response.headers,
    text,
    messages,
    response: messages.find((m) => 'id' in m && ('result' in m || 'error' in m)),
  };
}

/** One 2026-07-28 request (body and headers built here). */
export function modernCall(url: string, id: string | number, method: string, params: Json = {}, options: PostOptions & EnvelopeOptions = {}) {
  return modernPost(url, modernRequest(id, method, params, options), options);
}

/** A tools/call, optionally a retry of an input_required round. */
export function callTool(
  url: string,
  name: string,
  args: Json = {},
  options: PostOptions & EnvelopeOptions & { id?: string | number; inputResponses?: Json; requestState?: unknown } = {},
) {
  const params: Json = { name, arguments: args };
  if (options.inputResponses !== undefined) params.inputResponses = options.inputResponses;
  if (options.requestState !== undefined) params.requestState = options.requestState;
  return modernCall(url, options.id ?? `call-${name}`, 'tools/call', params, options);
}

/** The result of an answer that must have succeeded (HTTP 200, a JSON-RPC result). */
export function resultOf(answer: ModernAnswer): Json {
  if (answer.status !== 200 || !answer.response?.result) {
    throw new Error(`expected a result, got HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
  return answer.response.result;
}

/** The text of a tool result's first content block. */
export function toolText(result: Json): string {
  const first = result.content?.[0];
  if (!first || first.type !== 'text') throw new Error(`no text content in ${JSON.stringify(result).slice(0, 500)}`);
  return first.text;
}

/** An input_required result of an answer: its questions and its sealed state. */
export function inputRequiredOf(answer: ModernAnswer): { inputRequests: Json; requestState: string } {
  const result = resultOf(answer);
  if (result.resultType !== 'input_required' || typeof result.requestState !== 'string') {
    throw new Error(`expected input_required, got ${JSON.stringify(result).slice(0, 500)}`);
  }
  return { inputRequests: result.inputRequests, requestState: result.requestState };
}

/** An accepted form elicitation, as a client answers it. */
export function accept(content: Json): Json {
  return { action: 'accept', content };
}

/** The JSON-RPC error of an answer, after checking it is a JSON error body (no stream, no HTML). */
export function errorOf(answer: ModernAnswer): { code: number; message: string; data?: Json } {
  expect(answer.contentType).toMatch(/^application\/json\b/);
  const error = answer.response?.error ?? (answer.messages[0] as Json | undefined)?.error;
  if (!error) throw new Error(`expected a JSON-RPC error, got HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
  expect(typeof error.code).toBe('number');
  expect(typeof error.message).toBe('string');
  return error;
}

/** An open subscriptions/listen stream: its messages as they arrive, collected in the background. */
export interface ListenStream {
  status: number;
  contentType: string;
  headers: Headers;
  /** Every message received so far (the acknowledgement first). */
  messages: Json[];
  /** The error answer, when the listen request was refused instead of opened. */
  refusal: Json | undefined;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  /** Waits until `count` messages matching `match` arrived. */
  waitFor(match: (message: Json) => boolean, what: string, timeoutMs?: number, count?: number): Promise<Json[]>;
  /** Messages of one method received so far. */
  of(method: string): Json[];
  close(): void;
}

export type ListenFilter = {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
};

/** Opens subscriptions/listen; a refusal (an error instead of a stream) is returned too, with `refusal` set. */
export async function openListen(url: string, filter: ListenFilter, options: { id?: string | number; token?: string } = {}): Promise<ListenStream> {
  const controller = new AbortController();
  const body = modernRequest(options.id ?? `listen-${Math.random().toString(36).slice(2)}`, 'subscriptions/listen', { notifications: filter });
  const response = await fetch(`${url}/mcp`, { method: 'POST', headers: modernHeaders(body, options.token), body: JSON.stringify(body), signal: controller.signal });
  const contentType = response.headers.get('content-type') ?? '';
  const messages: Json[] = [];
  let refusal: Json | undefined;
  let ended: Promise<void>;
  if (!contentType.startsWith('text/event-stream')) {
    const text = await response.text();
    refusal = JSON.parse(text) as Json;
    ended = Promise.resolve();
  } else {
    const reader = sseReader(response);
    ended = (async () => {
      try {
        for (;;) {
          const message = await reader.next();
          if (!message) return;
          messages.push(message);
        }
      } catch {
        // Aborted by close(), or the connection went: the stream is over either way.
      }
    })();
  }
  const stream: ListenStream = {
    status: response.status,
    contentType,
    headers: response.headers,
    messages,
    refusal,
    ended,
    async waitFor(match, what, timeoutMs = 5000, count = 1) {
      await waitUntil(() => messages.filter(match).length >= count, timeoutMs, what);
      return messages.filter(match);
    },
    of: (method) => messages.filter((m) => m.method === method),
    close: () => controller.abort(),
  };
  return stream;
}

export const isMethod = (method: string) => (message: Json) => message.method === method;

/** One request the v2 client sent, and what came back. */
export interface RecordedExchange {
  host: string;
  headers: Headers;
  body: Json | undefined;
  status: number;
  contentType: string;
  /** The answer's messages (not read for listen streams, which do not end). */
  messages: Promise<Json[]>;
}

/**
 * Wraps a fetch (e.g. alternatingFetch) to record every request and the
 * messages of every answer, so a test can check the wire beneath the SDK
 * client: headers, resultType, cache hints.
 */
export function recordingFetch(inner: FetchLike): FetchLike & { exchanges: RecordedExchange[] } {
  const exchanges: RecordedExchange[] = [];
  const recording = (async (input: string | URL, init?: RequestInit) => {
    const response = await inner(input, init);
    let body: Json | undefined;
    try {
      body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Json) : undefined;
    } catch {
      body = undefined;
    }
    const contentType = response.headers.get('content-type') ?? '';
    const endless = body?.method === 'subscriptions/listen' || (init?.method ?? 'GET').toUpperCase() === 'GET';
    const copy = endless ? undefined : response.clone();
    exchanges.push({
      host: new URL(response.url || input.toString()).host,
      headers: new Headers(init?.headers),
      body,
      status: response.status,
      contentType,
      messages: copy ? copy.text().then((text) => (text === '' ? [] : sseMessages(text))) : Promise.resolve([]),
    });
    return response;
  }) as FetchLike & { exchanges: RecordedExchange[] };
  recording.exchanges = exchanges;
  return recording;
}
