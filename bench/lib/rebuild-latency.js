// Per-call latency of a session rebuilt from Redis (the first call after its
// eviction) against the same session once it is resident again.
import { percentile } from './load.js';
import { timeEcho } from './session-load.js';
import { keys as sessionKeys } from '../../dist/protocol/channels.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` indices spread evenly over `total` sessions (early, middle and late ones alike). */
export function spreadIndices(total, count) {
  const n = Math.min(total, count);
  return Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * total) / n));
}

/** n, min, mean, p50, p90, p99, max of latencies in ms. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    minMs: sorted[0] ?? NaN,
    meanMs: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? NaN,
  };
}

/**
 * First pass over a chunk: for each session, check it is evicted (its instance
 * key is ''), then call twice in a row: the first call rebuilds it, the second
 * finds it resident and warm. Half the sessions are called on the instance that
 * created them, half on the other one: either way the receiving instance takes
 * the released session over.
 */
async function rebuildChunk(ctx, chunk) {
  const rows = [];
  for (const { k, index } of chunk) {
    const id = ctx.ids[index];
    const target = k % 2 === 0 ? ctx.creator[index] : 1 - ctx.creator[index];
    const holder = await ctx.statsClient.get(sessionKeys.sessionInstance(id));
    const rebuiltMs = await timeEcho(ctx.agent, ctx.urls[target], id, 2, ctx.timeoutMs);
    const residentMs = await timeEcho(ctx.agent, ctx.urls[target], id, 3, ctx.timeoutMs);
    rows.push({ index, target, sameInstance: target === ctx.creator[index], wasEvicted: holder === '', rebuiltMs, residentMs, lastCallAt: performance.now() });
  }
  return rows;
}

/**
 * Second pass, after a pause longer than the edge's subscription grace but
 * shorter than the eviction delay: the session is still resident, but the edge
 * must look its owner up and subscribe again, as it does for a rebuilt one. This
 * separates the cost of the rebuild from the cost of a first call after a pause.
 */
async function afterPauseChunk(ctx, rows) {
  for (const row of rows) {
    const gapMs = performance.now() - row.lastCallAt;
    if (gapMs > ctx.maxGapMs) continue;
    row.residentAfterPauseMs = await timeEcho(ctx.agent, ctx.urls[row.target], ctx.ids[row.index], 4, ctx.timeoutMs);
    row.pauseMs = gapMs;
  }
}

export async function measureRebuildLatency({ agent, urls, ids, creator, statsClient, samples, chunkSize, pauseMs, maxGapMs, timeoutMs }) {
  const ctx = { agent, urls, ids, creator, statsClient, maxGapMs, timeoutMs };
  const picked = spreadIndices(ids.length, samples).map((index, k) => ({ k, index }));
  const rows = [];
  for (let i = 0; i < picked.length; i += chunkSize) {
    const chunkRows = await rebuildChunk(ctx, picked.slice(i, i + chunkSize));
    await sleep(pauseMs);
    await afterPauseChunk(ctx, chunkRows);
    rows.push(...chunkRows);
  }
  const evicted = rows.filter((r) => r.wasEvicted);
  const rebuilt = summarize(evicted.map((r) => r.rebuiltMs));
  const resident = summarize(evicted.map((r) => r.residentMs));
  const afterPause = summarize(rows.filter((r) => r.residentAfterPauseMs !== undefined).map((r) => r.residentAfterPauseMs));
  return {
    samples: rows.length,
    notEvictedBeforeFirstCall: rows.length - evicted.length,
    rebuilt,
    resident,
    residentAfterPause: afterPause,
    rebuiltSameInstance: summarize(evicted.filter((r) => r.sameInstance).map((r) => r.rebuiltMs)),
    rebuiltOtherInstance: summarize(evicted.filter((r) => !r.sameInstance).map((r) => r.rebuiltMs)),
    ratio: { p50: rebuilt.p50Ms / resident.p50Ms, p99: rebuilt.p99Ms / resident.p99Ms },
    ratioToAfterPause: { p50: rebuilt.p50Ms / afterPause.p50Ms, p99: rebuilt.p99Ms / afterPause.p99Ms },
    rows: rows.map(({ lastCallAt, ...row }) => row),
  };
}
