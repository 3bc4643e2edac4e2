// npm run bench: our MCP server in Redis, two-instance and embedded modes against
// the official server-everything, under the same load; the 2026-07-28 era of ours
// against a minimal SDK v2 server and a bare node:http floor; plus Redis cost per
// call, memory per idle session, and idle listen streams (memory, broadcast time).
// Prints a table, writes bench/results/latest.json.
// Settings (env): see readSettings() below and docs/performance.md.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateCluster } from '../test/support/redis-cluster.js';
import { startPrivateRedis } from '../test/support/redis-server.js';
import { installCleanup, killAllChildren, trackPid } from './lib/children.js';
import { startCpuWindow } from './lib/cpu.js';
import { runLoad } from './lib/load.js';
import { measureListenStreams, listenServerEnv } from './lib/listen-streams.js';
import { checkEcho, openSessions } from './lib/mcp-client.js';
import { measureIdleSessions } from './lib/memory.js';
import { checkModernEcho, MODERN_ECHO } from './lib/modern-client.js';
import { readSessionSettings } from './lib/session-settings.js';
import { clusterMasters, openStatsClient, redisVersion, snapshot, snapshotAll, delta } from './lib/redis-stats.js';
import { evaluate, printReport, writeJson } from './lib/report.js';
import { startBare, startOfficial, startOurs, startSdkV2 } from './lib/targets.js';

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

const TARGET_KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/**
 * The pairs measured back to back several times: the later target's req/s over
 * the earlier one's is the ratio a target is about, and the pair with the median
 * ratio stands for both in every table.
 */
const RATIO_PAIRS = [
  { first: 'd', second: 'a', rounds: 'ratioRounds', key: 'ratioRounds' },
  { first: 'f', second: 'e', rounds: 'modernRounds', key: 'modernRatioRounds' },
];

function readSettings(env = process.env) {
  const number = (name, fallback) => {
    if (env[name] === undefined || env[name] === '') return fallback;
    const value = Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
    return value;
  };
  const settings = {
    durationS: number('BENCH_DURATION_S', 10),
    warmupS: number('BENCH_WARMUP_S', 3),
    connections: number('BENCH_CONNECTIONS', 20),
    /** A call slower than this is a failure (a timeout), which voids the run. */
    requestTimeoutS: number('BENCH_REQUEST_TIMEOUT_S', 2),
    idleSessions: number('BENCH_IDLE_SESSIONS', 2000),
    /** Pause before reading memory; must exceed the server's SUBSCRIPTION_GRACE_MS (2 s). */
    settleMs: number('BENCH_SETTLE_MS', 2500),
    // Run order: (d) right before (a), and (f) right before (e), so that the
    // ratios that matter most are measured under the closest machine
    // conditions; results print as a, b, c, d, e, f, g.
    targets: (env.BENCH_TARGETS ?? 'd,a,c,b,h,g,f,e').split(',').map((t) => t.trim()).filter(Boolean),
    memory: (env.BENCH_MEMORY ?? '1') !== '0',
    timeoutS: number('BENCH_TIMEOUT_S', 600),
    /** Exit 1 when a target is missed (by default only a broken run exits non-zero). */
    strict: env.BENCH_STRICT === '1',
    /**
     * How many times the (d), (a) pair is measured, back to back. The (a) ÷ (d)
     * ratio is the median of the pairs' ratios: one pair on a shared machine can
     * be off by 20 % either way.
     */
    ratioRounds: Math.max(1, Math.floor(number('BENCH_RATIO_ROUNDS', 5))),
    /** The same for the (f), (e) pair of the 2026-07-28 era. */
    modernRounds: Math.max(1, Math.floor(number('BENCH_MODERN_ROUNDS', 3))),
    /** Idle subscriptions/listen streams on one instance of ours (0 skips the phase). */
    listen: (env.BENCH_LISTEN ?? '1') !== '0',
    listenStreams: Math.max(1, Math.floor(number('BENCH_LISTEN_STREAMS', 10_000))),
    /** Child processes holding the streams' sockets (each holds its share). */
    listenClients: Math.max(1, Math.floor(number('BENCH_LISTEN_CLIENTS', 2))),
    /** Streams being opened at once, per client process. */
    listenConcurrency: Math.max(1, Math.floor(number('BENCH_LISTEN_CONCURRENCY', 64))),
    /** Change events broadcast to all the streams, one after the other; the slowest is the figure. */
    listenEvents: Math.max(1, Math.floor(number('BENCH_LISTEN_EVENTS', 3))),
    /** A broadcast that has not reached every stream by then fails. */
    listenEventTimeoutS: number('BENCH_LISTEN_EVENT_TIMEOUT_S', 10),
    /** Also hold the streams on the bare node:http server, as the floor of memory per stream and broadcast time. */
    listenFloor: (env.BENCH_LISTEN_FLOOR ?? '1') !== '0',
    /** A directory: heap snapshots of each listen server, before and with the streams open (off by default: slow). */
    listenHeapSnapshots: env.BENCH_LISTEN_HEAP_SNAPSHOTS ? path.resolve(env.BENCH_LISTEN_HEAP_SNAPSHOTS) : undefined,
    /** Also run bench/sessions.js (100 000 sessions, several minutes) after the rest. */
    withSessions: env.BENCH_WITH_SESSIONS === '1',
  };
  const unknown = settings.targets.filter((key) => !TARGET_KEYS.includes(key));
  if (unknown.length > 0) throw new Error(`unknown BENCH_TARGETS ${unknown.join(',')} (use ${TARGET_KEYS.join(',')})`);
  return settings;
}

/**
 * The systems under load. Each route says which instance a share of the
 * connections loads and which instance created (owns) their sessions.
 */
/** Half the connections load the first instance with sessions the second owns, half the other way round. */
const crossed = ([first, second]) => [
  { load: first, owner: second },
  { load: second, owner: first },
];

function loadTargets(redisUrl, clusterNodes) {
  const onCluster = { env: { REDIS_CLUSTER_NODES: clusterNodes?.join(','), REQUEST_STATE_KEY: 'bench-request-state-key-of-32-bytes-or-more' } };
  return {
    a: {
      label: '(a) ours, Redis, 1 instance',
      usesRedis: true,
      start: async () => [await startOurs('ours-redis', redisUrl)],
      routes: ([one]) => [{ load: one, owner: one }],
    },
    b: {
      label: '(b) ours, Redis, 2 instances crossed',
      usesRedis: true,
      start: async () => [await startOurs('ours-redis-A', redisUrl), await startOurs('ours-redis-B', redisUrl)],
      routes: crossed,
    },
    h: {
      label: '(h) ours, Redis Cluster (3 shards), 2 instances crossed',
      usesRedis: true,
      cluster: true,
      start: async () => [await startOurs('ours-cluster-A', undefined, onCluster), await startOurs('ours-cluster-B', undefined, onCluster)],
      routes: crossed,
    },
    c: {
      label: '(c) ours, embedded',
      usesRedis: false,
      start: async () => [await startOurs('ours-embedded', undefined)],
      routes: ([one]) => [{ load: one, owner: one }],
    },
    d: {
      label: '(d) official server-everything',
      usesRedis: false,
      start: async () => [await startOfficial('official')],
      routes: ([one]) => [{ load: one, owner: one }],
    },
    // The 2026-07-28 era: no sessions, the same stateless echo request on every connection.
    e: {
      label: '(e) ours, 2026-07-28, Redis, 1 instance',
      usesRedis: true,
      modern: true,
      start: async () => [await startOurs('ours-modern', redisUrl)],
      routes: ([one]) => [{ load: one }],
    },
    f: {
      label: '(f) SDK v2 createMcpHandler, 2026-07-28',
      usesRedis: false,
      modern: true,
      start: async () => [await startSdkV2('sdk-v2')],
      routes: ([one]) => [{ load: one }],
    },
    g: {
      label: '(g) bare node:http JSON echo (floor)',
      usesRedis: false,
      modern: true,
      start: async () => [await startBare('bare')],
      routes: ([one]) => [{ load: one }],
    },
  };
}

/** Sessions for every connection, created on each route's owner; one checked call per route. */
async function prepareSessions(routes, connections) {
  const perRoute = Math.ceil(connections / routes.length);
  const sessionsByPort = new Map();
  for (const route of routes) {
    const ids = await openSessions(route.owner.url, perRoute);
    await checkEcho(route.load.url, ids[0]);
    sessionsByPort.set(route.load.port, ids);
  }
  return sessionsByPort;
}

/**
 * Commands an instance issues on timers, whatever the load: the lease renewal
 * (SET, every INSTANCE_LEASE_TTL_MS / 3) and the sweep's TTL refresh of busy
 * sessions (PEXPIRE, every 30 s).
 */
// Timer-driven: the owner's sweep and the held-streams renewal (SET, PEXPIRE, and EVAL: the renew script),
// the registry of live instances renewed with the lease (ZREMRANGEBYSCORE, ZADD), and on a cluster the
// replicas' acknowledgements and the client's health checks (REPLCONF, PING).
const HOUSEKEEPING = new Set(['set', 'pexpire', 'eval', 'zadd', 'zremrangebyscore', 'replconf', 'ping']);
/**
 * The event log's upkeep, beside the one append per server message (RPUSHX, or the
 * append-and-trim script counted as that append): the LTRIM that goes with an append
 * passing the count bound, what the script runs inside (LINDEX, RPUSH, LTRIM) when one
 * passes the byte bound, and the RPUSH that creates a session's log.
 */
const TRIMS = new Set(['ltrim', 'lindex', 'rpush']);

/**
 * Two figures: everything Redis ran in the window over completed calls (what the
 * brief asks; it includes housekeeping and the calls cut off when the run
 * stopped), and the call-driven commands over the calls actually sent, which is
 * the per-call cost the target is about.
 */
function redisPerCall(window, run) {
  const count = (names) =>
    Object.entries(window.byCommand)
      .filter(([name]) => names.has(name))
      .reduce((sum, [, n]) => sum + n, 0);
  const housekeeping = count(HOUSEKEEPING);
  const trims = count(TRIMS);
  return {
    commands: window.commands,
    housekeepingCommands: housekeeping,
    commandsPerCompletedCall: window.commands / run.completed,
    commandsPerCall: (window.commands - housekeeping - trims) / run.sent,
    trimsPerCall: trims / run.sent,
    newConnections: window.newConnections,
    newConnectionsPerCall: window.newConnections / run.completed,
    byCommand: window.byCommand,
    perCallByCommand: Object.fromEntries(Object.entries(window.byCommand).map(([name, n]) => [name, n / run.sent])),
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU of every process in % of one core, plus "others": what the rest of the machine ran meanwhile. */
function cpuFigures(cpuPercent, redisWindow, seconds) {
  const figures = { ...cpuPercent };
  if (redisWindow) figures.redis = (100 * redisWindow.cpuSeconds) / seconds;
  if (figures.machine !== undefined) {
    const ours = Object.entries(figures).filter(([name]) => name !== 'machine');
    figures.others = Math.max(0, figures.machine - ours.reduce((sum, [, pct]) => sum + (pct ?? 0), 0));
  }
  return figures;
}

/**
 * Completed calls per CPU-second spent by the system under test (its server
 * processes, and Redis when it has one). Unlike req/s this hardly moves when a
 * neighbour takes CPU from a shared machine, so its ratios are the steadier ones.
 */
function callsPerCpuSecond(run, cpu, names) {
  const percent = names.reduce((sum, name) => sum + (cpu[name] ?? 0), 0);
  return run.completed / ((percent / 100) * run.elapsedS);
}

/** Starts the target, opens its sessions, warms up, then measures one window. */
async function measureLoad(target, settings, stats) {
  const servers = await target.start();
  try {
    const routes = target.routes(servers);
    if (target.modern) for (const route of routes) await checkModernEcho(route.load.url);
    const load = {
      urls: routes.map((r) => `${r.load.url}/mcp`),
      ...(target.modern ? { request: MODERN_ECHO } : { sessionsByPort: await prepareSessions(routes, settings.connections) }),
      connections: settings.connections,
      timeoutS: settings.requestTimeoutS,
    };
    if (settings.warmupS > 0) await runLoad({ ...load, durationS: settings.warmupS });
    // Let calls cut off at the end of the warm-up finish before the window opens.
    await sleep(300);

    const cpuWindow = startCpuWindow(Object.fromEntries(servers.map((s) => [s.name, s.pid])));
    const take = () => (target.cluster ? snapshotAll(stats.cluster) : snapshot(stats.node));
    const redisBefore = target.usesRedis ? await take() : undefined;
    const run = await runLoad({ ...load, durationS: settings.durationS });
    const cpuPercent = cpuWindow();
    let redisWindow;
    if (redisBefore) {
      // The calls cut off at the end are counted in `sent`; let their commands land.
      await sleep(300);
      redisWindow = delta(redisBefore, await take());
    }
    const cpu = cpuFigures(cpuPercent, redisWindow, run.elapsedS);
    return {
      label: target.label,
      ...run,
      cpuPercent: cpu,
      callsPerCpuSecond: callsPerCpuSecond(run, cpu, [...servers.map((s) => s.name), 'redis']),
      redis: redisWindow && redisPerCall(redisWindow, run),
    };
  } finally {
    for (const server of servers) await server.stop();
  }
}

function memoryTargets(redisUrl) {
  return {
    redis: { label: 'ours, Redis', usesRedis: true, start: () => startOurs('ours-redis-memory', redisUrl, { memoryHook: true }) },
    embedded: { label: 'ours, embedded', start: () => startOurs('ours-embedded-memory', undefined, { memoryHook: true }) },
    official: { label: 'official (reference)', start: () => startOfficial('official-memory', { memoryHook: true }) },
  };
}

async function machineInfo(stats) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
    node: process.version,
    redis: await redisVersion(stats),
    platform: `${os.type()} ${os.release()}`,
  };
}

/**
 * bench/sessions.js as a child with our stdio, after everything else:
 * it starts its own Redis and instances, and has its own watchdog.
 */
function runSessionsBench() {
  console.error('\nbench: BENCH_WITH_SESSIONS=1: running bench/sessions.js');
  const child = spawn(process.execPath, [path.join(path.dirname(RESULTS_DIR), 'sessions.js')], { stdio: 'inherit' });
  // SIGTERM, not the SIGKILL of killAllChildren: it kills its own Redis and
  // instances on SIGTERM, which a SIGKILL would leave behind.
  const stop = () => child.kill('SIGTERM');
  process.on('exit', stop);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      process.off('exit', stop);
      resolve(code ?? 1);
    });
  });
}

async function main() {
  const settings = readSettings();
  if (settings.listenHeapSnapshots) mkdirSync(settings.listenHeapSnapshots, { recursive: true });
  // The sessions bench, when asked for, runs inside this watchdog's time too.
  const sessionsTimeoutS = settings.withSessions ? readSessionSettings().timeoutS + 10 : 0;
  installCleanup((settings.timeoutS + sessionsTimeoutS) * 1000);
  const redis = await startPrivateRedis();
  trackPid('redis-server', redis.pid);
  const stats = await openStatsClient(redis.url);
  // The Redis Cluster target's own cluster (3 masters, 3 replicas), and a stats connection to each master.
  const cluster = settings.targets.includes('h') ? await startPrivateCluster() : undefined;
  for (const pid of cluster?.pids ?? []) trackPid('redis-cluster-node', pid);
  const clusterStats = cluster ? await Promise.all((await clusterMasters(cluster.ports[0])).map((port) => openStatsClient(`redis://127.0.0.1:${port}`))) : [];
  const results = { date: new Date().toISOString(), settings, machine: await machineInfo(stats), loads: {}, memory: {} };
  try {
    const targets = loadTargets(redis.url, cluster?.nodes);
    const measure = (key) => {
      console.error(`bench: ${targets[key].label}: ${settings.warmupS} s warm-up + ${settings.durationS} s`);
      return measureLoad(targets[key], settings, { node: stats, cluster: clusterStats });
    };
    for (const key of settings.targets) results.loads[key] = await measure(key);
    for (const { first, second, rounds, key } of RATIO_PAIRS) {
      if (!results.loads[first] || !results.loads[second]) continue;
      const pairs = [{ [first]: results.loads[first], [second]: results.loads[second] }];
      for (let round = 2; round <= settings[rounds]; round++) {
        console.error(`bench: (${first}), (${second}) pair ${round} of ${settings[rounds]}`);
        pairs.push({ [first]: await measure(first), [second]: await measure(second) });
      }
      const ratioOf = (pair) => pair[second].requestsPerSecond / pair[first].requestsPerSecond;
      results[key] = pairs.map((pair) => ({
        [`${second}RequestsPerSecond`]: pair[second].requestsPerSecond,
        [`${first}RequestsPerSecond`]: pair[first].requestsPerSecond,
        ratio: ratioOf(pair),
        cpuRatio: pair[second].callsPerCpuSecond / pair[first].callsPerCpuSecond,
        failures: pair[second].failures + pair[first].failures,
      }));
      // The pair with the median ratio stands for both targets in every table.
      const median = [...pairs].sort((x, y) => ratioOf(x) - ratioOf(y))[Math.floor(pairs.length / 2)];
      Object.assign(results.loads, median);
    }
    if (settings.memory) {
      for (const [key, target] of Object.entries(memoryTargets(redis.url))) {
        console.error(`bench: ${settings.idleSessions} idle sessions on ${target.label}`);
        results.memory[key] = {
          label: target.label,
          ...(await measureIdleSessions({
            start: target.start,
            count: settings.idleSessions,
            warmupCount: 50,
            settleMs: settings.settleMs,
            statsClient: target.usesRedis ? stats : undefined,
          })),
        };
      }
    }
    if (settings.listen) {
      const env = listenServerEnv(settings.listenStreams);
      const listenTargets = {
        listen: { label: 'ours, Redis', serverEnv: env, start: () => startOurs('ours-listen', redis.url, { memoryHook: true, env }) },
        // The same streams on the bare node:http server: what Node's HTTP alone costs per open stream.
        ...(settings.listenFloor && { listenFloor: { label: '(g) bare node:http (floor)', serverEnv: {}, start: () => startBare('bare-listen', { memoryHook: true }) } }),
      };
      for (const [key, target] of Object.entries(listenTargets)) {
        console.error(`bench: ${settings.listenStreams} idle listen streams on ${target.label} (${settings.listenClients} client processes)`);
        results[key] = { label: target.label, serverEnv: target.serverEnv };
        try {
          Object.assign(
            results[key],
            await measureListenStreams({
              start: target.start,
              name: key,
              count: settings.listenStreams,
              clients: settings.listenClients,
              concurrency: settings.listenConcurrency,
              warmupCount: 200,
              settleMs: 1000,
              events: settings.listenEvents,
              eventTimeoutMs: settings.listenEventTimeoutS * 1000,
              heapSnapshotDir: settings.listenHeapSnapshots,
            }),
          );
        } catch (error) {
          // The load figures above still print; the run counts as broken.
          console.error(`bench: listen streams on ${target.label} failed: ${error.stack ?? error}`);
          results[key].error = String(error.message ?? error);
        }
      }
    }
  } finally {
    await Promise.all([stats, ...clusterStats].map((client) => client.close().catch(() => undefined)));
    await redis.stop();
    await cluster?.stop();
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((n) => Number(n.toFixed(2)));
  results.loads = Object.fromEntries(Object.entries(results.loads).sort(([x], [y]) => x.localeCompare(y)));
  results.checks = evaluate(results);
  printReport(results);
  console.log(`\nwrote ${writeJson(results, RESULTS_DIR)}`);
  const broken =
    Object.values(results.loads).some((run) => run.failures > 0) ||
    [...(results.ratioRounds ?? []), ...(results.modernRatioRounds ?? [])].some((r) => r.failures > 0) ||
    Boolean(results.listen?.error || results.listenFloor?.error);
  const missed = results.checks.some((check) => check.status === 'FAIL');
  const sessionsCode = settings.withSessions ? await runSessionsBench() : 0;
  return broken || (settings.strict && missed) || sessionsCode !== 0 ? 1 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (error) => {
    console.error(`bench failed: ${error.stack ?? error}`);
    killAllChildren();
    process.exit(1);
  },
);
