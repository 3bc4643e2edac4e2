// Idle subscriptions/listen streams (2026-07-28) on one instance of ours: memory
// per open stream, and how long one change event takes to reach every stream.
// The streams are held by a few child processes (bench/lib/listen-client.js),
// each stream on its own socket, so that no process needs more than its share
// of file descriptors and the clients' parsing is spread over processes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild } from './children.js';
import { heapSnapshotOf, memoryOf } from './memory.js';
import { checkModernEcho, listenRequest, triggerToolChange } from './modern-client.js';
import { percentile } from './load.js';
import { processMemory } from './proc-memory.js';

const CLIENT_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'listen-client.js');
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's budgets that 10 000 streams would hit at their defaults, raised for this instance only. */
export function listenServerEnv(streams) {
  const room = String(Math.max(30_000, streams + 1000));
  return {
    // Every stream is a connection, all from 127.0.0.1 (defaults 10 000 and 256).
    MAX_CONNECTIONS: room,
    MAX_CONNECTIONS_PER_IP: '0',
    // A listen stream holds a unit of the stream budget too (default 10 000 per instance).
    MAX_STREAMS_PER_INSTANCE: room,
    // 20 000 by default: raised only when more streams are asked for.
    ...(streams + 100 > 20_000 && { MAX_LISTEN_STREAMS_PER_INSTANCE: room }),
  };
}

/** A listen-client child, with a promise for the next message of a given type. */
async function startClient(name) {
  const proc = spawnChild(name, process.execPath, [CLIENT_ENTRY], { env: { PATH: process.env.PATH }, ipc: true });
  const waiters = [];
  proc.child.on('message', (message) => {
    const i = waiters.findIndex((w) => w.type === message?.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(message);
  });
  proc.child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}) while waiting for "${w.type}":\n${proc.output()}`));
  });
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const waiter = { type, resolve, reject };
      waiters.push(waiter);
      setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) {
          waiters.splice(i, 1);
          reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  const ready = next('ready', 10_000);
  await ready;
  return {
    ...proc,
    next,
    send: (message) => proc.child.send(message),
    /** Sends `message` and resolves the reply of type `reply`. */
    ask(message, reply, timeoutMs) {
      const answer = next(reply, timeoutMs);
      proc.child.send(message);
      return answer;
    },
  };
}

/** Opens `count` streams spread over the clients; throws on the first client that had a failure. */
async function openStreams(clients, url, count, { concurrency, timeoutMs, openTimeoutMs }) {
  const share = (i) => Math.floor(count / clients.length) + (i < count % clients.length ? 1 : 0);
  let id = 0;
  const replies = await Promise.all(
    clients.map((client, i) => {
      id += 1;
      return client.ask({ type: 'open', url: `${url}/mcp`, request: listenRequest(`listen-${id}`), count: share(i), concurrency, timeoutMs }, 'opened', openTimeoutMs);
    }),
  );
  const failed = replies.find((r) => r.failures > 0);
  if (failed) throw new Error(`${failed.failures} listen streams failed to open; first: ${failed.firstError}`);
  return { open: replies.reduce((sum, r) => sum + r.open, 0), elapsedS: Math.max(...replies.map((r) => r.elapsedS)) };
}

async function closeStreams(clients) {
  await Promise.all(clients.map((client) => client.ask({ type: 'close' }, 'closed', 30_000)));
}

/**
 * One change event: every client is told to expect it, then the trigger call is
 * sent; resolves when every stream has received notifications/tools/list_changed,
 * or after `timeoutMs` with what had arrived by then.
 */
async function broadcast(clients, server, expected, timeoutMs) {
  // Waiting for "received" first: a client with no stream reports it at once.
  const received = clients.map((client) => client.next('received', timeoutMs + 20_000));
  const expecting = await Promise.all(clients.map((client) => client.ask({ type: 'expect' }, 'expecting', 10_000)));
  const open = expecting.reduce((sum, r) => sum + r.open, 0);
  const sentAt = now();
  await triggerToolChange(server.url);
  const triggerMs = now() - sentAt;
  const deadline = setTimeout(() => {
    for (const client of clients) client.send({ type: 'report' });
  }, timeoutMs);
  const reports = await Promise.all(received);
  clearTimeout(deadline);
  const delays = reports
    .flatMap((r) => r.times)
    .filter((t) => t !== null)
    .map((t) => t - sentAt)
    .sort((a, b) => a - b);
  return {
    openAtTrigger: open,
    expected,
    received: delays.length,
    triggerResponseMs: triggerMs,
    allReachedMs: delays.length === expected ? delays.at(-1) : null,
    firstMs: delays[0] ?? null,
    p50Ms: percentile(delays, 50),
    p99Ms: percentile(delays, 99),
    lastMs: delays.at(-1) ?? null,
  };
}

/**
 * Starts the instance (`start` gives one with the memory hook), opens and closes
 * a warm-up batch, reads the baseline, opens `count` streams, reads the memory
 * again, then times `events` broadcasts to all of them, closes them and reads
 * what is left. With `heapSnapshotDir`, heap snapshots of the baseline and of
 * the open streams are written there (compare them with bench/heap-diff.js).
 */
export async function measureListenStreams({ start, name, count, clients: clientCount, concurrency, warmupCount, settleMs, events, eventTimeoutMs, heapSnapshotDir }) {
  const server = await start();
  const clients = [];
  try {
    for (let i = 0; i < clientCount; i += 1) clients.push(await startClient(`listen-client-${i + 1}`));
    const options = { concurrency, timeoutMs: 15_000, openTimeoutMs: 120_000 };
    await checkModernEcho(server.url);

    // Warm-up: the listen path's code is loaded and compiled before the baseline.
    await openStreams(clients, server.url, warmupCount, options);
    await closeStreams(clients);
    await sleep(settleMs);
    const before = await memoryOf(server, 60_000);
    const snapshots = [];
    if (heapSnapshotDir) snapshots.push(await heapSnapshotOf(server, heapSnapshotDir, `${name}-before`));

    const opened = await openStreams(clients, server.url, count, options);
    await sleep(settleMs);
    const after = await memoryOf(server, 60_000);
    const vm = processMemory(server.pid);
    if (heapSnapshotDir) snapshots.push(await heapSnapshotOf(server, heapSnapshotDir, `${name}-open`));
    // The instance still serves calls with every stream open.
    await checkModernEcho(server.url);

    const broadcasts = [];
    for (let i = 0; i < events; i += 1) {
      broadcasts.push(await broadcast(clients, server, count, eventTimeoutMs));
      await sleep(200);
    }
    // Leak check: with every stream closed again, the heap should be back near the baseline.
    await closeStreams(clients);
    await sleep(settleMs);
    const closed = await memoryOf(server, 60_000);
    const perStream = (field) => (after[field] - before[field]) / count;
    return {
      streams: count,
      clientProcesses: clientCount,
      openedPerSecond: opened.open / opened.elapsedS,
      openSeconds: opened.elapsedS,
      heapBytesPerStream: perStream('heapUsed'),
      rssBytesPerStream: perStream('rss'),
      externalBytesPerStream: perStream('external'),
      /** Heap still held per stream once they were all closed (0 when nothing leaks). */
      residualHeapBytesPerStream: (closed.heapUsed - before.heapUsed) / count,
      heapUsedBefore: before.heapUsed,
      heapUsedAfter: after.heapUsed,
      rssBefore: before.rss,
      rssAfter: after.rss,
      vmRssAfter: vm.rss,
      vmPeak: vm.peak,
      broadcasts,
      ...(snapshots.length > 0 && { heapSnapshots: snapshots }),
      /** The slowest broadcast: every stream had its event within this. */
      allReachedMs: broadcasts.some((b) => b.allReachedMs === null) ? null : Math.max(...broadcasts.map((b) => b.allReachedMs)),
    };
  } finally {
    await Promise.allSettled(clients.map((client) => client.ask({ type: 'close' }, 'closed', 30_000)));
    for (const client of clients) {
      try {
        client.send({ type: 'exit' });
      } catch {
        // already gone
      }
    }
    await server.stop();
    await Promise.allSettled(clients.map((client) => client.stop(2000)));
  }
}
