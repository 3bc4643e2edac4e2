/**
 * Raw HTTP helpers for contract tests: requests where the test controls every
 * header, Server-Sent Events parsing, and the checks every error body must pass.
 */
import http from 'node:http';

export const MCP_ACCEPT = 'application/json, text/event-stream';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** Parses an SSE body (complete or partial: an unterminated last event is ignored). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const blocks = text.replace(/\r\n?/g, '\n').split('\n\n');
  blocks.pop(); // after the last blank line: empty, or an event still arriving
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    let id: string | undefined;
    let retry: number | undefined;
    let sawField = false;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') {
        event = value;
        sawField = true;
      } else if (field === 'data') {
        data.push(value);
        sawField = true;
      } else if (field === 'id') {
        id = value;
      } else if (field === 'retry') {
        retry = Number(value);
      }
    }
    if (sawField) events.push({ event, data: data.join('\n'), ...(id !== undefined && { id }), ...(retry !== undefined && { retry }) });
  }
  return events;
}

/**
 * The JSON-RPC messages of an answer to a POST: the `message` events (with data)
 * of an event stream, or the one JSON body the server may send instead (an SSE
 * body never starts with `{` or `[`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON-RPC shapes
export function sseMessages(text: string): Array<Record<string, any>> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return [JSON.parse(trimmed) as Record<string, unknown>].flat();
  return parseSse(text)
    // Events without data are priming events (resumption points), not messages.
    .filter((e) => e.event === 'message' && e.data !== '')
    .map((e) => JSON.parse(e.data) as Record<string, unknown>);
}

/**
 * Runs `work` (a request and the reading of its body); fails with `what` when it
 * does not finish in time, and aborts the request — nothing a test starts may hang.
 */
export async function within<T>(controller: AbortController, timeoutMs: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} within ${timeoutMs} ms`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a response body to its end; fails (and aborts the request) when the body
 * does not complete in time — an event stream that should have ended but did not.
 */
export function readToEnd(response: Response, controller: AbortController, timeoutMs = 5000): Promise<string> {
  return within(controller, timeoutMs, 'the response body did not end', () => response.text());
}

/**
 * Reads an event stream incrementally; the stream stays open (the caller aborts
 * it). `until` fails when its condition is not met in time or the stream ends first.
 */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private text = '';

  constructor(response: Response) {
    if (!response.body) throw new Error('response has no body');
    this.reader = response.body.getReader();
  }

  get events(): SseEvent[] {
    return parseSse(this.text);
  }

  async until(done: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events;
      if (done(events)) return events;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`stream condition not met within ${timeoutMs} ms; got: ${JSON.stringify(this.text)}`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), remaining);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error(`stream ended before the condition was met; got: ${JSON.stringify(this.text)}`);
      this.text += this.decoder.decode(chunk.value, { stream: true });
    }
  }
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request through node:http, which (unlike fetch) lets the test set Host. */
export function rawRequest(
  baseUrl: string,
  options: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.body === undefined ? options.headers : { ...options.headers, 'Content-Length': String(Buffer.byteLength(options.body)) },
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.setTimeout(5000, () => request.destroy(new Error('raw request timed out')));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Signs of an error page meant for humans or of a leaked stack trace. */
const HTML = /<!doctype|<html|<body|<pre>/i;
const STACK = /\n\s+at\s|\bat [\w.<>]+ \(|node_modules|\.[jt]s:\d+:\d+/;

/** An error body must be JSON: no HTML, no stack trace. Returns the parsed body. */
export function expectJsonBody(contentType: string | null | undefined, body: string): Record<string, unknown> {
  expect(contentType ?? '').toMatch(/^application\/json\b/);
  expect(body).not.toMatch(HTML);
  expect(body).not.toMatch(STACK);
  const parsed = JSON.parse(body) as unknown;
  expect(parsed).toEqual(expect.any(Object));
  return parsed as Record<string, unknown>;
}

/** A JSON-RPC 2.0 error object (code, message, id null unless given). */
export function expectJsonRpcErrorBody(
  contentType: string | null | undefined,
  body: string,
  code?: number,
): { jsonrpc: string; id: unknown; error: { code: number; message: string } } {
  const parsed = expectJsonBody(contentType, body);
  expect(parsed).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: code ?? expect.any(Number), message: expect.any(String) },
  });
  const error = parsed.error as { code: number; message: string };
  expect(Number.isInteger(error.code)).toBe(true);
  expect(error.message.length).toBeGreaterThan(0);
  return parsed as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
}

type HeaderSource = Headers | http.IncomingHttpHeaders;

function header(source: HeaderSource, name: string): string | undefined {
  if (source instanceof Headers) return source.get(name) ?? undefined;
  const value = source[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** helmet's headers: present on every response, errors included. */
export function expectHelmetHeaders(source: HeaderSource): void {
  expect(header(source, 'x-content-type-options')).toBe('nosniff');
  expect(header(source, 'content-security-policy')).toMatch(/default-src 'self'/);
  expect(header(source, 'x-frame-options')).toBe('SAMEORIGIN');
  expect(header(source, 'x-powered-by')).toBeUndefined();
}

/** The comma-separated values of a header, lower-cased. */
export function headerList(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
}

/** Reads an SSE response event by event (named events included), as they arrive. */
export function sseEventReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: SseEvent[] = [];
  return {
    /** The next event, or undefined when the stream ended. */
    async next(): Promise<SseEvent | undefined> {
      for (;;) {
        if (queue.length > 0) return queue.shift();
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += decoder.decode(value, { stream: true });
        const end = buffer.lastIndexOf('\n\n');
        if (end < 0) continue;
        queue.push(...parseSse(buffer.slice(0, end + 2)));
        buffer = buffer.slice(end + 2);
      }
    },
    /** The next event named `name` for which `match` holds (others are skipped), within `timeoutMs`. */
    async until(name: string, match: (data: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no '${name}' event within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([
          (async () => {
            for (;;) {
              const event = await this.next();
              if (!event) throw new Error(`stream ended before a '${name}' event`);
              if (event.event !== name) continue;
              const data = JSON.parse(event.data);
              if (match(data)) return data;
            }
          })(),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: () => reader.cancel().catch(() => undefined),
  };
}
