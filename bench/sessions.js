// npm run bench:sessions: capacity of idle sessions. Opens BENCH_SESSIONS (100 000)
// sessions on two instances of ours sharing a private Redis, waits until every
// idle session has been evicted from memory, then reports the processes' memory,
// Redis' memory and keys, and the latency of a call that rebuilds an evicted
// session against one on a resident session. Prints a table with PASS/FAIL and
// writes bench/results/sessions-latest.json. See docs/performance.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateRedis } from '../test/support/redis-server.js';
import { installCleanup, killAllChildren, trackPid } from './lib/children.js';
import { keepAliveAgent } from './lib/http-keepalive.js';
import { memoryOf } from './lib/memory.js';
import { processesMemory, sampleMemory } from './lib/proc-memory.js';
import { measureRebuildLatency } from './lib/rebuild-latency.js';
import { openStatsClient, redisVersion } from './lib/redis-stats.js';
import { fmt, table } from './lib/report.js';
import { openManySessions } from './lib/session-load.js';
import { readSessionSettings } from './lib/session-settings.js';
import { instancePids, keyUsage, redisMemory, sessionsByInstance, subscribedSessions } from './lib/session-store.js';
import { startOurs } from './lib/targets.js';

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const MB = 1024 * 1024;
const LIMITS = { processBytes: 1024 * MB, redisBytes: 200 * MB };
/** The server's default SUBSCRIPTION_GRACE_MS, set explicitly so the latency pause is known to exceed it. */
const SUBSCRIPTION_GRACE_MS = 2000;
/** Sessions/s assumed for the duration estimate printed before the run (700–920/s were measured on 2 shared cores). */
const ASSUMED_RATE = 600;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.error(`bench:sessions: ${message}`);

/** The host's sweep period (src/sessions/owner/session-host.ts) for these settings. */
function sweepMs(s) {
  return Math.max(200, Math.min((s.idleTimeoutS * 1000) / 4, (s.evictAfterS * 1000) / 2, 30_000));
}

/** Rough duration of the whole run, printed up front. */
function estimateSeconds(s) {
  const open = s.sessions / ASSUMED_RATE;
  const eviction = (2 * s.evictAfterS * 1000 + 2 * sweepMs(s)) / 1000 + 5;
  const latency = Math.ceil(s.latencySamples / 20) * (SUBSCRIPTION_GRACE_MS / 1000 + 1.5);
  return 10 + open + eviction + latency;
}

async function startInstances(redisUrl, s) {
  const env = {
    SESSION_EVICT_AFTER_S: String(s.evictAfterS),
    SESSION_IDLE_TIMEOUT_S: String(s.idleTimeoutS),
    SUBSCRIPTION_GRACE_MS: String(SUBSCRIPTION_GRACE_MS),
  };
  // The memory hook lets the bench read the heap after full GCs, besides VmRSS.
  return [
    await startOurs('instance-A', redisUrl, { memoryHook: true, env }),
    await startOurs('instance-B', redisUrl, { memoryHook: true, env }),
  ];
}

/** VmRSS of each instance, then (after the natural reading) heap and RSS after full GCs. */
async function instancesMemory(instances) {
  const natural = processesMemory(instances);
  const afterGc = {};
  for (const instance of instances) {
    const usage = await memoryOf(instance, 60_000);
    afterGc[instance.name] = { heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external };
  }
  return { ...natural, afterGc };
}

/** Resident sessions per instance name (the lease keys map instance ids to pids). */
async function residency(stats, instances) {
  const [byInstance, pids, subscribed] = await Promise.all([sessionsByInstance(stats), instancePids(stats), subscribedSessions(stats)]);
  const nameOfPid = Object.fromEntries(instances.map((i) => [i.pid, i.name]));
  const counts = Object.fromEntries(Object.entries(byInstance.counts).map(([holder, n]) => [nameOfPid[pids[holder]] ?? holder, n]));
  return { ...byInstance, counts, subscribedToServer: subscribed };
}

async function openAll(instances, s, agent) {
  log(`opening ${s.sessions} sessions on ${instances.map((i) => i.name).join(' + ')}, ${s.concurrency} in flight`);
  const stopSampling = sampleMemory(instances, 2000);
  const progressEvery = Math.max(1000, Math.round(s.sessions / 20));
  try {
    const opened = await openManySessions({
      agent,
      urls: instances.map((i) => i.url),
      count: s.sessions,
      concurrency: s.concurrency,
      timeoutMs: s.requestTimeoutS * 1000,
      progressEvery,
      onProgress: (done, elapsedS) => {
        const rate = done / elapsedS;
        const rss = processesMemory(instances).totalRss / MB;
        log(`  ${done}/${s.sessions} in ${elapsedS.toFixed(0)} s (${rate.toFixed(0)}/s, ~${((s.sessions - done) / rate).toFixed(0)} s to go); RSS total ${rss.toFixed(0)} MB`);
      },
    });
    return { ...opened, rssSamples: stopSampling() };
  } catch (error) {
    stopSampling();
    throw error;
  }
}

/**
 * Waits until no session is left in any process: at least 2 × SESSION_EVICT_AFTER_S
 * plus two sweeps, then until the store shows none resident and no Server
 * subscribed, or a deadline (a miss is reported, not hidden).
 */
async function waitForEviction(stats, instances, s) {
  const minimumMs = 2 * s.evictAfterS * 1000 + 2 * sweepMs(s);
  const deadline = performance.now() + minimumMs + 60_000;
  const startedAt = performance.now();
  log(`waiting ${(minimumMs / 1000).toFixed(1)} s or more for eviction`);
  await sleep(minimumMs);
  for (;;) {
    const state = await residency(stats, instances);
    if ((state.resident === 0 && state.subscribedToServer === 0) || performance.now() > deadline) {
      return { ...state, waitedS: (performance.now() - startedAt) / 1000, complete: state.resident === 0 && state.subscribedToServer === 0 };
    }
    log(`  still resident: ${JSON.stringify(state.counts)}, subscribed: ${state.subscribedToServer}`);
    await sleep(2000);
  }
}

/**
 * Peak RSS of each instance: VmHWM, or the highest VmRSS the bench saw if that is
 * higher (the kernel updates VmHWM lazily). The total is the sum of the per-process
 * peaks, an upper bound of the peak of the two together.
 */
function peakMemory(r) {
  const byName = {};
  for (const name of Object.keys(r.afterEviction.processes.byName)) {
    const seen = [
      r.afterEviction.processes.byName[name].peak,
      r.afterOpening.processes.byName[name].rss,
      ...r.opening.rssSamples.map((sample) => sample.byName[name]?.rss ?? 0),
    ];
    byName[name] = Math.max(...seen.filter((v) => v !== null));
  }
  return { byName, total: Object.values(byName).reduce((a, b) => a + b, 0) };
}

function check(name, value, ok, shown) {
  return { name, status: ok ? 'PASS' : 'FAIL', value, shown };
}

function evaluate(r) {
  const mem = r.afterEviction;
  return [
    check('every idle session evicted from memory', r.eviction.resident, r.eviction.complete, `${r.eviction.resident} resident, ${r.eviction.subscribedToServer} still subscribed, after ${fmt(r.eviction.waitedS, 1)} s`),
    check('process memory, both instances, after eviction < 1 GB (sum of VmRSS)', mem.processes.totalRss, mem.processes.totalRss < LIMITS.processBytes, `${fmt(mem.processes.totalRss / MB, 0)} MB`),
    check('process memory, both instances, peak < 1 GB (sum of peak RSS)', r.peak.total, r.peak.total < LIMITS.processBytes, `${fmt(r.peak.total / MB, 0)} MB`),
    check('Redis used_memory < 200 MB', mem.redis.usedMemory, mem.redis.usedMemory < LIMITS.redisBytes, `${fmt(mem.redis.usedMemory / MB, 1)} MB (peak ${fmt(mem.redis.usedMemoryPeak / MB, 1)} MB)`),
  ];
}

function memoryRows(r) {
  const names = Object.keys(r.baseline.processes.byName);
  const row = (label, pick) => [label, ...names.map((n) => fmt(pick(n) / MB, 1)), fmt(names.reduce((t, n) => t + pick(n), 0) / MB, 1)];
  return table(['MB', ...names, 'total'], [
    row('RSS at start', (n) => r.baseline.processes.byName[n].rss),
    row('RSS after opening', (n) => r.afterOpening.processes.byName[n].rss),
    row('RSS after eviction', (n) => r.afterEviction.processes.byName[n].rss),
    row('peak RSS (VmHWM)', (n) => r.peak.byName[n]),
    row('heap after GC, start', (n) => r.baseline.processes.afterGc[n].heapUsed),
    row('heap after GC, after eviction', (n) => r.afterEviction.processes.afterGc[n].heapUsed),
    row('RSS after GC, after eviction', (n) => r.afterEviction.processes.afterGc[n].rss),
  ]);
}

function redisRows(r) {
  const rows = [
    ['start', r.baseline.redis],
    ['after opening', r.afterOpening.redis],
    ['after eviction', r.afterEviction.redis],
  ].map(([label, m]) => [label, fmt(m.usedMemory / MB, 1), fmt(m.usedMemoryPeak / MB, 1), fmt(m.usedMemoryRss / MB, 1), m.keys]);
  return table(['Redis', 'used_memory MB', 'peak MB', 'RSS MB', 'keys (DBSIZE)'], rows);
}

function keyRows(usage) {
  const rows = Object.entries(usage).map(([kind, u]) => [kind, `${u.present}/${u.sampled}`, fmt(u.meanBytes, 0), u.minBytes ?? '–', u.maxBytes ?? '–']);
  return table(['key kind', 'present', 'mean B', 'min B', 'max B'], rows);
}

function latencyRows(l) {
  const row = (label, x) => [label, x.n, fmt(x.p50Ms, 2), fmt(x.p90Ms, 2), fmt(x.p99Ms, 2), fmt(x.meanMs, 2), fmt(x.maxMs, 2)];
  return table(['echo call', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'max ms'], [
    row('rebuilt (1st call after eviction)', l.rebuilt),
    row('  of which on the creating instance', l.rebuiltSameInstance),
    row('  of which on the other instance', l.rebuiltOtherInstance),
    row('resident, warm (next call)', l.resident),
    row(`resident, after a ${SUBSCRIPTION_GRACE_MS / 1000 + 0.5} s pause`, l.residentAfterPause),
  ]);
}

function printReport(r) {
  const s = r.settings;
  const perSession = (r.afterEviction.redis.usedMemory - r.baseline.redis.usedMemory) / s.sessions;
  console.log(`\nSession capacity benchmark, ${r.date}; ${r.machine.cpus} × ${r.machine.cpuModel}; node ${r.machine.node}; redis ${r.machine.redis}`);
  console.log(`load average ${r.machine.loadAverageAtStart.join(' ')} at start, ${r.machine.loadAverageAtEnd.join(' ')} at end; run took ${fmt(r.durationS, 0)} s`);
  console.log(`${s.sessions} sessions over 2 instances (SESSION_EVICT_AFTER_S=${s.evictAfterS}, idle timeout ${s.idleTimeoutS} s), ${s.concurrency} in flight:`);
  console.log(`opened in ${fmt(r.opening.elapsedS, 1)} s = ${fmt(r.opening.sessionsPerSecond, 0)} sessions/s; 0 failures\n`);
  const heapGrowth = Object.keys(r.peak.byName).reduce(
    (t, n) => t + r.afterEviction.processes.afterGc[n].heapUsed - r.baseline.processes.afterGc[n].heapUsed,
    0,
  );
  console.log(`${memoryRows(r)}`);
  console.log(`heap after GC kept per session opened (after eviction − start, both instances): ${fmt(heapGrowth / s.sessions, 0)} B\n`);
  console.log(`${redisRows(r)}`);
  console.log(`Redis per session: ${fmt(perSession, 0)} B of used_memory, ${fmt((r.afterEviction.redis.keys - r.baseline.redis.keys) / s.sessions, 2)} keys\n`);
  console.log(`MEMORY USAGE (SAMPLES 0) on ${s.keyUsageSamples} sessions after eviction\n${keyRows(r.keyUsage)}\n`);
  console.log(`MEMORY USAGE of sessions that answered 3 echo calls (the latency sample)\n${keyRows(r.keyUsageAfterCalls)}`);
  const eventLog = r.keyUsageAfterCalls.events.meanBytes;
  console.log(`projection, not measured: had every session answered a call, its event log (${fmt(eventLog, 0)} B) would bring Redis to ~${fmt((r.afterEviction.redis.usedMemory + s.sessions * eventLog) / MB, 0)} MB\n`);
  const l = r.latency;
  console.log(`Latency of one echo call, ${l.samples} sessions called one at a time (${l.notEvictedBeforeFirstCall} were not evicted when called; excluded)\n${latencyRows(l)}`);
  console.log(`rebuilt ÷ resident warm: p50 ${fmt(l.ratio.p50, 2)} ×, p99 ${fmt(l.ratio.p99, 2)} ×; rebuilt ÷ resident after pause: p50 ${fmt(l.ratioToAfterPause.p50, 2)} ×, p99 ${fmt(l.ratioToAfterPause.p99, 2)} ×\n`);
  console.log('Targets');
  for (const c of r.checks) console.log(`  ${c.status.padEnd(4)}  ${c.name}: ${c.shown}`);
}

function writeResults(results) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(path.join(RESULTS_DIR, `sessions-run-${results.date.replace(/[:.]/g, '-')}.json`), text);
  const latest = path.join(RESULTS_DIR, 'sessions-latest.json');
  writeFileSync(latest, text);
  return latest;
}

async function machineInfo(stats) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    redis: await redisVersion(stats),
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

async function snapshotAll(stats, instances) {
  return { processes: await instancesMemory(instances), redis: await redisMemory(stats) };
}

/** Every phase, in order; `results` is filled as they go, so a failure still leaves what was measured. */
async function runPhases(results, stats, redisUrl, s) {
  const instances = await startInstances(redisUrl, s);
  const agent = keepAliveAgent(s.concurrency);
  try {
    results.instances = instances.map((i) => ({ name: i.name, pid: i.pid, url: i.url }));
    results.baseline = await snapshotAll(stats, instances);
    results.opening = await openAll(instances, s, agent);
    const { ids, creator } = results.opening;
    results.opening = { elapsedS: results.opening.elapsedS, sessionsPerSecond: results.opening.sessionsPerSecond, rssSamples: results.opening.rssSamples };
    results.afterOpening = { ...(await snapshotAll(stats, instances)), residency: await residency(stats, instances) };
    log(`opened at ${fmt(results.opening.sessionsPerSecond, 0)}/s; resident now: ${JSON.stringify(results.afterOpening.residency.counts)}`);
    results.eviction = await waitForEviction(stats, instances, s);
    results.afterEviction = await snapshotAll(stats, instances);
    results.keyUsage = await keyUsage(stats, ids.slice(0, s.keyUsageSamples));
    log(`measuring latency on ${s.latencySamples} sessions`);
    results.latency = await measureRebuildLatency({
      agent,
      urls: instances.map((i) => i.url),
      ids,
      creator,
      statsClient: stats,
      samples: s.latencySamples,
      chunkSize: 20,
      pauseMs: SUBSCRIPTION_GRACE_MS + 500,
      maxGapMs: s.evictAfterS * 1000 - 1000,
      timeoutMs: s.requestTimeoutS * 1000,
    });
    // The sampled sessions have answered calls, so they carry an event log: what a used session costs.
    const called = results.latency.rows.slice(0, s.keyUsageSamples).map((row) => ids[row.index]);
    results.keyUsageAfterCalls = await keyUsage(stats, called);
    for (const instance of instances) {
      if (!instance.isRunning()) throw new Error(`${instance.name} died during the run:\n${instance.output()}`);
    }
  } finally {
    agent.destroy();
    for (const instance of instances) await instance.stop();
  }
}

async function main() {
  const s = readSessionSettings();
  installCleanup(s.timeoutS * 1000);
  const startedAt = performance.now();
  log(`estimated duration ${fmt(estimateSeconds(s) / 60, 1)} min at ~${ASSUMED_RATE} sessions/s (watchdog ${s.timeoutS} s)`);
  const redis = await startPrivateRedis();
  trackPid('redis-server', redis.pid);
  const stats = await openStatsClient(redis.url);
  const results = { date: new Date().toISOString(), settings: s, machine: await machineInfo(stats) };
  try {
    await runPhases(results, stats, redis.url, s);
  } catch (error) {
    results.void = true;
    results.error = String(error.stack ?? error);
    results.durationS = (performance.now() - startedAt) / 1000;
    console.error(`bench:sessions: VOID: ${error.message}`);
    console.log(`wrote ${writeResults(results)}`);
    throw error;
  } finally {
    await stats.close().catch(() => undefined);
    await redis.stop();
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((n) => Number(n.toFixed(2)));
  results.durationS = (performance.now() - startedAt) / 1000;
  results.peak = peakMemory(results);
  results.checks = evaluate(results);
  printReport(results);
  console.log(`\nwrote ${writeResults(results)}`);
  const missed = results.checks.some((c) => c.status === 'FAIL');
  return s.strict && missed ? 1 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (error) => {
    console.error(`bench:sessions failed: ${error.stack ?? error}`);
    killAllChildren();
    process.exit(1);
  },
);
