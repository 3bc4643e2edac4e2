// Memory per idle session: open N sessions (initialize + initialized), let them
// go idle, and compare the server's heap after full GCs before and after.
import { openSessions, checkEcho } from './mcp-client.js';
import { snapshot } from './redis-stats.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks a child started with the memory hook for process.memoryUsage() after GC. */
export function memoryOf(server, timeoutMs = 15_000) {
  const id = Math.random().toString(36).slice(2);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage);
      reject(new Error(`${server.name} did not report its memory`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message?.type !== 'bench:memory' || message.id !== id) return;
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(message.usage);
    };
    server.child.on('message', onMessage);
    server.child.send({ type: 'bench:memory', id });
  });
}

/** Asks a child started with the memory hook to write a heap snapshot into `dir`; resolves its path. */
export function heapSnapshotOf(server, dir, name, timeoutMs = 120_000) {
  const id = Math.random().toString(36).slice(2);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage);
      reject(new Error(`${server.name} did not write its heap snapshot`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message?.type !== 'bench:heap-snapshot' || message.id !== id) return;
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(message.file);
    };
    server.child.on('message', onMessage);
    server.child.send({ type: 'bench:heap-snapshot', id, dir, name });
  });
}

/**
 * `start` launches a fresh server with the memory hook. A few warm-up sessions
 * come first so that lazily loaded code and JIT state are in the baseline; the
 * settle pause lets transient state go (our per-session pattern subscription
 * outlives a request by SUBSCRIPTION_GRACE_MS, 2 s by default).
 */
export async function measureIdleSessions({ start, count, warmupCount, settleMs, statsClient }) {
  const server = await start();
  try {
    await openSessions(server.url, warmupCount);
    await sleep(settleMs);
    const before = await memoryOf(server);
    const redisBefore = statsClient ? await snapshot(statsClient) : undefined;

    const startedAt = performance.now();
    const ids = await openSessions(server.url, count);
    const openSeconds = (performance.now() - startedAt) / 1000;
    await sleep(settleMs);
    const after = await memoryOf(server);
    const redisAfter = statsClient ? await snapshot(statsClient) : undefined;
    // The sessions are real: the oldest of them still answers.
    await checkEcho(server.url, ids[0]);

    const perSession = (field) => (after[field] - before[field]) / count;
    return {
      sessions: count,
      sessionsPerSecond: count / openSeconds,
      heapBytesPerSession: perSession('heapUsed'),
      rssBytesPerSession: perSession('rss'),
      externalBytesPerSession: perSession('external'),
      redisBytesPerSession: redisBefore ? (redisAfter.usedMemory - redisBefore.usedMemory) / count : null,
      heapUsedAfter: after.heapUsed,
      rssAfter: after.rss,
    };
  } finally {
    await server.stop();
  }
}
