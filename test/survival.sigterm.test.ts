/**
 * Sessions that survive: SIGTERM drains an instance. Requests in flight finish,
 * new work is turned away (503 on open connections, refused on new ones), /ready
 * says 503, the process exits 0 within the grace period, and every session it ran
 * is released so that another instance takes it over at once — not after the
 * dead instance's lease lapses (the lease here lasts 10 s).
 *
 * On one Redis node and on a Redis Cluster (3 masters, 3 replicas), each the suite's
 * own; Redis stays up throughout.
 */
import net from 'node:net';
import { keys } from '../src/protocol/channels.js';
import { startChildInstance, type ChildInstance } from './support/instances.js';
import { openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';
import { captureLogs, connectAdmin, exitOf, instanceIdOfChild, sleep, type RedisAdmin } from './support/survival-helpers.js';
import { survivalRedisCases, type SurvivalRedis } from './support/survival-redis.js';

const GRACE_MS = 3000;
const SETTINGS = { SHUTDOWN_GRACE_MS: String(GRACE_MS), INSTANCE_LEASE_TTL_MS: '10000', REQUEST_TIMEOUT_S: '20' };
const COMPLETED = 'Long running operation completed. Duration: 1 seconds, Steps: 2.';

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits the bytes of pipelined HTTP/1.1 responses (Content-Length or chunked bodies). */
function parseResponses(raw: string): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine, ...headerLines] = rest.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(headEnd + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const sizeEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, sizeEnd), 16);
        rest = rest.slice(sizeEnd + 2);
        if (!size) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
  }
  return responses;
}

/** One raw keep-alive connection on which requests are pipelined; resolves with everything read once it closes. */
function rawConnection(baseUrl: string) {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let data = '';
  const errors: string[] = [];
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (data += chunk));
  const closed = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(data));
    socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
  });
  const head = (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    return `${lines.join('\r\n')}\r\n\r\n`;
  };
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) => {
    socket.write(`${head(method, path, headers, body)}${body ?? ''}`);
  };
  /** Sends a request's head now and its body later, as a slow client would. */
  const sendHeadOnly = (method: string, path: string, headers: Record<string, string>, body: string) => {
    socket.write(head(method, path, headers, body));
    return () => socket.write(body);
  };
  return { send, sendHeadOnly, closed, errors, received: () => data, destroy: () => socket.destroy() };
}

const MCP = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

/** A request on a fresh connection: its status and body, or the connection error's code. */
async function freshRequest(url: string, init?: RequestInit): Promise<{ status?: number; headers?: Headers; body?: string; error?: string }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch (error) {
    return { error: (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).name };
  }
}

describe.each(survivalRedisCases())('SIGTERM drain, on %s', (_name, start) => {
  let redis: SurvivalRedis;
  let admin: RedisAdmin;
  let a: ChildInstance;
  let b: ChildInstance;

  beforeAll(async () => {
    redis = await start();
    admin = await connectAdmin(redis.target);
    const startChild = () => startChildInstance(undefined, { ...redis.env, ...SETTINGS });
    [a, b] = await Promise.all([startChild(), startChild()]);
  });

  afterAll(async () => {
    await Promise.allSettled([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    await admin?.close().catch(() => undefined);
    await redis?.stop();
  });

  test('SIGTERM drains: in-flight requests finish, new ones are refused, exit 0, sessions taken over at once', async () => {
    const logsA = captureLogs(a);
    const [idA, idB] = await Promise.all([instanceIdOfChild(admin, a), instanceIdOfChild(admin, b)]);
    // Four sessions run by A: two with a call in flight (one reached A directly, one through B),
    // one whose connection carries pipelined requests, one idle with a log level set.
    const [viaA, viaB, piped, idle] = await Promise.all([openSession(a.url), openSession(a.url), openSession(a.url), openSession(a.url)]);
    for (const id of [viaA, viaB, piped, idle]) expect(await admin.get(keys.sessionInstance(id))).toBe(idA);
    const infoLogs = (messages: Array<Record<string, any>>) =>
      messages.filter((m) => m.method === 'notifications/message' && m.params.level === 'info');
    const control = sseMessages(await (await post(a.url, idle, toolCall(1, 'longRunningOperation', { duration: 0.2, steps: 2 }))).text());
    expect(infoLogs(control)).toHaveLength(2);
    const setLevel = await post(a.url, idle, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'error' } });
    expect(sseMessages(await setLevel.text()).at(-1)).toMatchObject({ id: 2, result: {} });

    const inflightA = post(a.url, viaA, toolCall(10, 'longRunningOperation', { duration: 1, steps: 2 })).then(async (r) => ({
      status: r.status,
      messages: sseMessages(await r.text()),
    }));
    const inflightB = post(b.url, viaB, toolCall(11, 'longRunningOperation', { duration: 1, steps: 2 })).then(async (r) => ({
      status: r.status,
      messages: sseMessages(await r.text()),
    }));
    const connection = rawConnection(a.url);
    connection.send('POST', '/mcp', { ...MCP, 'Mcp-Session-Id': piped }, JSON.stringify(toolCall(12, 'longRunningOperation', { duration: 1, steps: 2 })));
    const slow = rawConnection(a.url);
    await sleep(250);

    const exited = exitOf(a, GRACE_MS + 6000);
    const signalledAt = Date.now();
    a.process.kill('SIGTERM');
    await sleep(100);

    // While draining: on the open connection, /ready says 503 (draining) and new work gets 503 + Retry-After.
    connection.send('GET', '/ready', {});
    connection.send('POST', '/mcp', { ...MCP, 'Mcp-Session-Id': piped }, JSON.stringify(toolCall(13, 'echo', { message: 'too late' })));
    // A client whose body comes after its head is refused only once its body is in: closing the
    // connection under a client still sending would reset it, and a reset can lose the 503.
    const sendBody = slow.sendHeadOnly('POST', '/mcp', { ...MCP, 'Mcp-Session-Id': piped }, JSON.stringify(toolCall(15, 'echo', { message: 'slow' })));
    await sleep(150);
    expect(slow.received()).toBe('');
    sendBody();
    // New connections: refused, or answered 503 likewise.
    const freshPost = await freshRequest(`${a.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP, 'Mcp-Session-Id': viaA },
      body: JSON.stringify(toolCall(14, 'echo', { message: 'new connection' })),
    });
    const freshReady = await freshRequest(`${a.url}/ready`);
    expect(a.process.exitCode).toBeNull(); // still draining while the checks above ran

    // The requests in flight at SIGTERM complete normally.
    const [resultA, resultB] = await Promise.all([inflightA, inflightB]);
    expect(resultA.status).toBe(200);
    expect(resultA.messages.at(-1)).toMatchObject({ id: 10, result: { content: [{ type: 'text', text: COMPLETED }] } });
    expect(resultB.status).toBe(200);
    expect(resultB.messages.at(-1)).toMatchObject({ id: 11, result: { content: [{ type: 'text', text: COMPLETED }] } });

    const pipelined = parseResponses(await connection.closed);
    expect(pipelined.map((r) => r.status)).toEqual([200, 503, 503]);
    expect(sseMessages(pipelined[0]!.body).at(-1)).toMatchObject({ id: 12, result: { content: [{ text: COMPLETED }] } });
    expect(JSON.parse(pipelined[1]!.body)).toMatchObject({ status: 'unavailable', draining: true });
    expect(pipelined[2]!.headers['retry-after']).toBe('1');
    expect(pipelined[2]!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(pipelined[2]!.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expect.any(Number), message: expect.any(String) } });

    const refusedSlow = parseResponses(await slow.closed);
    expect(refusedSlow.map((r) => [r.status, r.headers.connection])).toEqual([[503, 'close']]);
    expect(slow.errors).toEqual([]);

    if (freshPost.error) expect(freshPost.error).toBe('ECONNREFUSED');
    else {
      expect(freshPost.status).toBe(503);
      expect(freshPost.headers!.get('retry-after')).toBe('1');
      expect(JSON.parse(freshPost.body!)).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    }
    if (freshReady.error) expect(freshReady.error).toBe('ECONNREFUSED');
    else expect(freshReady.status).toBe(503);

    // Exit 0 within the grace period plus a margin.
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(GRACE_MS + 2000);
    expect(logsA.some((line) => line.includes('shutting down'))).toBe(true);

    // Released, not orphaned: the sessions' instance key is '' and A's lease is gone.
    for (const id of [viaA, viaB, piped, idle]) expect(await admin.get(keys.sessionInstance(id))).toBe('');
    expect(await admin.exists(keys.instanceLease(idA))).toBe(0);

    // The next request on B succeeds at once (A's lease would have lasted 10 s).
    for (const [i, id] of [viaA, viaB, piped, idle].entries()) {
      const started = Date.now();
      const reply = await post(b.url, id, toolCall(20 + i, 'echo', { message: `on B ${i}` }));
      expect(reply.status).toBe(200);
      expect(sseMessages(await reply.text()).at(-1)).toMatchObject({ id: 20 + i, result: { content: [{ text: `Echo: on B ${i}` }] } });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(await admin.get(keys.sessionInstance(id))).toBe(idB);
    }
    // With its state: the idle session's log level still filters the tool's info logs.
    const after = sseMessages(await (await post(b.url, idle, toolCall(30, 'longRunningOperation', { duration: 0.2, steps: 2 }))).text());
    expect(after.at(-1)).toMatchObject({ id: 30, result: { content: [{ text: 'Long running operation completed. Duration: 0.2 seconds, Steps: 2.' }] } });
    expect(infoLogs(after)).toHaveLength(0);
  }, 30_000);
});
