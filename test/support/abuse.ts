/**
 * What the abuse suites share: a second user's ordinary work, timed; clients that
 * stop reading; and what an instance holds for each connection it accepted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { Socket } from 'node:net';
import { openSession, post, sseMessages, toolCall } from './raw-mcp.js';

/**
 * A user's ordinary work: a new session and a tool call, answered correctly
 * within `maxMs` (a generous bound on a shared 2-core machine; an instance that
 * is being exhausted misses it by far). Returns the time it took.
 */
export async function expectServed(url: string, token?: string, maxMs = 3000): Promise<number> {
  const started = Date.now();
  const sessionId = await openSession(url, token);
  const response = await post(url, sessionId, toolCall(1, 'echo', { message: 'still served' }), undefined, token);
  expect(response.status).toBe(200);
  expect(sseMessages(await response.text())[0]?.result?.content?.[0]?.text).toBe('Echo: still served');
  const took = Date.now() - started;
  expect(took).toBeLessThan(maxMs);
  return took;
}

/** The server side of the connections an instance accepts from now on: what Node holds for each. */
export function acceptedSockets(server: Server) {
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', onConnection);
  return {
    /** Bytes this process holds for the connection holding the most (written, not yet taken by the kernel). */
    maxBuffered: () => Math.max(0, ...[...sockets].map((socket) => socket.writableLength)),
    count: () => sockets.size,
    stop: () => server.off('connection', onConnection),
  };
}

/** Samples `probe` every few ms until stopped; keeps the largest value seen. */
export function sampleMax(probe: () => number, everyMs = 5) {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, probe())), everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(max, probe());
    },
  };
}

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Source address (any 127.x.y.z reaches a server on 127.0.0.1). */
  localAddress?: string;
}

/**
 * A client that sends one request and stops reading its answer once what arrived
 * matches `readUntil` (or as soon as the headers are in): its socket stays open,
 * unread, so the server's writes pile up in the kernel and then in the server.
 * `readOn` starts reading again and collects everything from there on.
 */
export function unreadResponse(url: string, request: RawRequest, readUntil?: RegExp) {
  const target = new URL(request.path, url);
  let received = '';
  let response: http.IncomingMessage | undefined;
  const req = http.request(target, { method: request.method, headers: request.headers, localAddress: request.localAddress, agent: false });
  req.on('error', () => undefined);
  const ready = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('error', () => undefined);
      const status = res.statusCode ?? 0;
      if (!readUntil) {
        res.pause();
        resolve({ status, text: '' });
        return;
      }
      const onData = (chunk: string) => {
        received += chunk;
        if (!readUntil.test(received)) return;
        res.off('data', onData);
        res.pause();
        resolve({ status, text: received });
      };
      res.on('data', onData);
      res.once('end', () => reject(new Error(`ended before it matched: ${received.slice(0, 300)}`)));
    });
    req.once('error', reject);
  });
  req.end(request.body);
  return {
    ready,
    /** Reads on: `onText` gets everything that arrives from now on. */
    readOn(onText: (text: string) => void): void {
      response?.on('data', onText);
      response?.resume();
    },
    close: () => req.destroy(),
  };
}

/** This process's resident set, in MB. */
export function rssMB(): number {
  return process.memoryUsage.rss() / 1048576;
}

/** The resident set of another process (an instance started as a child), in MB. */
export function processRssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

/** File descriptors another process holds open (its sockets among them). */
export function processOpenFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Latencies of a repeated call, with the share that failed. */
export function latencies() {
  const times: number[] = [];
  let failures = 0;
  return {
    record: (ms: number) => void times.push(ms),
    fail: () => void (failures += 1),
    get count() {
      return times.length;
    },
    get failures() {
      return failures;
    },
    percentile(p: number): number {
      const sorted = [...times].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.POSITIVE_INFINITY;
    },
  };
}

/** One request from a chosen client address (fetch cannot pick one); resolves with the whole answer. */
export function requestFrom(url: string, request: RawRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(request.path, url), { method: request.method, headers: request.headers, localAddress: request.localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(request.body);
  });
}
