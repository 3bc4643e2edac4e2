// Targets from the issue, PASS/FAIL verdicts, the printed table and the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KB = 1024;

export const LIMITS = {
  rpsRatioToOfficial: 2,
  p99Ms: 50,
  /** SSUBSCRIBE, SPUBLISH, RPUSHX, SPUBLISH, SUNSUBSCRIBE (contract v2: one sharded channel per stream). */
  redisCommandsPerCall: 5,
  redisConnectionsPerCall: 0,
  heapBytesPerIdleSession: 20 * KB,
  /** (e) ours in the 2026-07-28 era against (f) the minimal SDK v2 server. */
  modernRpsRatioToSdk: 2,
  redisCommandsPerModernCall: 0,
  bytesPerListenStream: 10 * KB,
  listenBroadcastMs: 1000,
};

/** The sessionful targets (ratios to (d)) and the 2026-07-28 ones (ratios to (f) and (g)). */
const SESSION_KEYS = ['a', 'b', 'h', 'c', 'd'];
const MODERN_KEYS = ['e', 'f', 'g'];

/** A verdict on one target: PASS, FAIL, VOID (the run had failed calls) or SKIP (not measured). */
function verdict(name, value, ok, { load, shown } = {}) {
  if (value === undefined || value === null || Number.isNaN(value)) return { name, status: 'SKIP', value: null, shown: 'not measured' };
  if (load && load.failures > 0) return { name, status: 'VOID', value, shown: `${shown} (run had ${load.failures} failed calls)` };
  return { name, status: ok ? 'PASS' : 'FAIL', value, shown };
}

export function evaluate(results) {
  const { loads, memory } = results;
  const a = loads.a;
  const d = loads.d;
  const checks = [];
  const ratio = a && d ? a.requestsPerSecond / d.requestsPerSecond : undefined;
  const rounds = results.ratioRounds ?? [];
  const perRound = rounds.length > 1 ? `; median of ${rounds.length} pairs: ${rounds.map((r) => fmt(r.ratio, 2)).join(', ')}` : '';
  checks.push(
    verdict('(a) requests/s ≥ 2 × (d)', ratio, ratio >= LIMITS.rpsRatioToOfficial, {
      load: a && d && { failures: a.failures + d.failures + rounds.reduce((sum, r) => sum + r.failures, 0) },
      shown: `${fmt(ratio, 2)} × (per CPU-second: ${fmt(a && d ? a.callsPerCpuSecond / d.callsPerCpuSecond : undefined, 2)} ×${perRound})`,
    }),
  );
  for (const key of ['a', 'b', 'h', 'c']) {
    const run = loads[key];
    checks.push(
      verdict(`(${key}) p99 ≤ ${LIMITS.p99Ms} ms at ${results.settings.connections} connections`, run?.p99Ms, run?.p99Ms <= LIMITS.p99Ms, {
        load: run,
        shown: `${fmt(run?.p99Ms, 2)} ms`,
      }),
    );
  }
  const perCall = a?.redis;
  checks.push(
    verdict(`(a) Redis commands per tool call ≤ ${LIMITS.redisCommandsPerCall}`, perCall?.commandsPerCall, perCall?.commandsPerCall <= LIMITS.redisCommandsPerCall, {
      load: a,
      shown: `${fmt(perCall?.commandsPerCall, 3)}, plus the event log's upkeep ${fmt(perCall?.trimsPerCall, 3)} (every command in the window / completed calls: ${fmt(perCall?.commandsPerCompletedCall, 3)})`,
    }),
    verdict('(a) new Redis connections per tool call = 0', perCall?.newConnectionsPerCall, perCall?.newConnectionsPerCall === 0, {
      load: a,
      shown: `${perCall?.newConnections} in ${a?.completed} calls`,
    }),
  );
  const onCluster = loads.h?.redis;
  const broadcast = onCluster ? (onCluster.perCallByCommand.publish ?? 0) : undefined;
  checks.push(
    verdict(`(h) Redis Cluster commands per tool call ≤ ${LIMITS.redisCommandsPerCall}, none broadcast`, onCluster?.commandsPerCall, onCluster?.commandsPerCall <= LIMITS.redisCommandsPerCall && broadcast === 0, {
      load: loads.h,
      shown: `${fmt(onCluster?.commandsPerCall, 3)} (classic PUBLISH, broadcast to every node: ${fmt(broadcast, 3)} per call)`,
    }),
  );
  for (const key of ['redis', 'embedded']) {
    const m = memory[key];
    checks.push(
      verdict(`memory per idle session ≤ 20 KB (heap after GC, ${key})`, m?.heapBytesPerSession, m?.heapBytesPerSession <= LIMITS.heapBytesPerIdleSession, {
        shown: `${fmt(m?.heapBytesPerSession / KB, 2)} KB`,
      }),
    );
  }
  checks.push(...modernChecks(results), ...listenChecks(results));
  return checks;
}

function modernChecks(results) {
  const { e, f, g } = results.loads;
  if (!e && !f) return [];
  const rounds = results.modernRatioRounds ?? [];
  const ratio = e && f ? e.requestsPerSecond / f.requestsPerSecond : undefined;
  const perRound = rounds.length > 1 ? `; median of ${rounds.length} pairs: ${rounds.map((r) => fmt(r.ratio, 2)).join(', ')}` : '';
  const floor = e && g ? `; ÷ (g) the floor: ${fmt(e.requestsPerSecond / g.requestsPerSecond, 2)} ×` : '';
  const checks = [
    verdict('(e) requests/s ≥ 2 × (f)', ratio, ratio >= LIMITS.modernRpsRatioToSdk, {
      load: e && f && { failures: e.failures + f.failures + rounds.reduce((sum, r) => sum + r.failures, 0) },
      shown: `${fmt(ratio, 2)} × (per CPU-second: ${fmt(e && f ? e.callsPerCpuSecond / f.callsPerCpuSecond : undefined, 2)} ×${perRound}${floor})`,
    }),
    verdict(`(e) p99 ≤ ${LIMITS.p99Ms} ms at ${results.settings.connections} connections`, e?.p99Ms, e?.p99Ms <= LIMITS.p99Ms, {
      load: e,
      shown: `${fmt(e?.p99Ms, 2)} ms`,
    }),
  ];
  const redis = e?.redis;
  // Every command counts here but the timer-driven ones (the lease renewal): a modern call sends nothing through Redis.
  checks.push(
    verdict(`(e) Redis commands per modern call = ${LIMITS.redisCommandsPerModernCall}`, redis?.commandsPerCall, redis && redis.commandsPerCall + redis.trimsPerCall === 0, {
      load: e,
      shown: redis
        ? `${fmt(redis.commandsPerCall + redis.trimsPerCall, 4)} (${redis.commands - redis.housekeepingCommands} call-driven commands in ${e.sent} calls sent; in the whole window ${redis.commands}, all timer-driven: ${byCommand(redis.byCommand)})`
        : '',
    }),
  );
  return checks;
}

function listenChecks(results) {
  const listen = results.listen;
  if (!listen) return [];
  const floorFailed = results.listenFloor?.error
    ? [{ name: 'listen streams on the floor (g)', status: 'VOID', value: null, shown: `phase failed: ${results.listenFloor.error}` }]
    : [];
  if (listen.error) {
    return [{ name: 'listen streams', status: 'VOID', value: null, shown: `phase failed: ${listen.error}` }, ...floorFailed];
  }
  const n = listen.streams;
  return [
    ...floorFailed,
    verdict(`memory per idle listen stream ≤ 10 KB (heap after GC, ${n} streams)`, listen.heapBytesPerStream, listen.heapBytesPerStream <= LIMITS.bytesPerListenStream, {
      shown: `${fmt(listen.heapBytesPerStream / KB, 2)} KB heap; RSS ${fmt(listen.rssBytesPerStream / KB, 2)} KB, external ${fmt(listen.externalBytesPerStream / KB, 2)} KB${floorOf(results, 'heapBytesPerStream', (v) => `${fmt(v / KB, 2)} KB heap`)}`,
    }),
    verdict(
      `one change event reaches all ${n} listen streams ≤ ${LIMITS.listenBroadcastMs} ms`,
      listen.allReachedMs ?? (listen.broadcasts ? Infinity : undefined),
      listen.allReachedMs !== null && listen.allReachedMs <= LIMITS.listenBroadcastMs,
      {
        shown:
          listen.allReachedMs === null
            ? `not every stream got it: ${listen.broadcasts.map((b) => `${b.received}/${b.expected}`).join(', ')}`
            : `${fmt(listen.allReachedMs, 0)} ms, slowest of ${listen.broadcasts.length} (${listen.broadcasts.map((b) => fmt(b.allReachedMs, 0)).join(', ')} ms)${floorOf(results, 'allReachedMs', (v) => `${fmt(v, 0)} ms`)}`,
      },
    ),
  ];
}

/** "; floor (bare node:http) …" when the listen floor was measured. */
function floorOf(results, field, show) {
  const value = results.listenFloor?.[field];
  return value === undefined || value === null ? '' : `; floor (bare node:http): ${show(value)}`;
}

function byCommand(counts) {
  const entries = Object.entries(counts ?? {});
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name} ${n}`).join(', ');
}

export function fmt(value, digits = 1) {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  return value.toFixed(digits);
}

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** "server 97%, redis 5%, load generator 21%, others 3% (machine 126%)": others = the rest of the box. */
function cpuSummary(cpu) {
  const { machine, others, ...processes } = cpu;
  const parts = Object.entries(processes).map(([name, pct]) => `${name} ${fmt(pct, 0)}%`);
  if (others !== undefined) parts.push(`others ${fmt(others, 0)}%`);
  return machine === undefined ? parts.join(', ') : `${parts.join(', ')} (machine ${fmt(machine, 0)}%)`;
}

function ratio(run, d, field) {
  return d ? fmt(run[field] / d[field], 2) : '–';
}

/** The runs of `keys` that were measured. */
function runsOf(results, keys) {
  return keys.filter((key) => results.loads[key]).map((key) => results.loads[key]);
}

function loadTable(results) {
  const d = results.loads.d;
  const rows = runsOf(results, SESSION_KEYS).map((run) => [
    run.label,
    fmt(run.requestsPerSecond, 0),
    fmt(run.p50Ms, 2),
    fmt(run.p99Ms, 2),
    ratio(run, d, 'requestsPerSecond'),
    ratio(run, d, 'p50Ms'),
    ratio(run, d, 'p99Ms'),
    run.completed,
    run.failures === 0 ? 0 : `${run.failures} (${run.timeouts} timeouts)`,
  ]);
  return table(['target', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ (d)', 'p50 ÷ (d)', 'p99 ÷ (d)', 'calls', 'failed'], rows);
}

function modernLoadTable(results) {
  const { f, g } = results.loads;
  const rows = runsOf(results, MODERN_KEYS).map((run) => [
    run.label,
    fmt(run.requestsPerSecond, 0),
    fmt(run.p50Ms, 2),
    fmt(run.p99Ms, 2),
    ratio(run, f, 'requestsPerSecond'),
    ratio(run, g, 'requestsPerSecond'),
    ratio(run, f, 'p99Ms'),
    run.completed,
    run.failures === 0 ? 0 : `${run.failures} (${run.timeouts} timeouts, ${run.non2xx} non-2xx)`,
  ]);
  return table(['target', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ (f)', 'req/s ÷ (g)', 'p99 ÷ (f)', 'calls', 'failed'], rows);
}

function cpuTable(results, keys, refKey) {
  const ref = results.loads[refKey];
  const rows = runsOf(results, keys).map((run) => [
    run.label,
    fmt(run.callsPerCpuSecond, 0),
    ratio(run, ref, 'callsPerCpuSecond'),
    cpuSummary(run.cpuPercent),
  ]);
  return table(['target', 'calls/CPU-s', `÷ (${refKey})`, 'CPU in % of one core (others = rest of the machine)'], rows);
}

function listenTable(listen) {
  const rows = listen.broadcasts.map((b, i) => [
    i + 1,
    `${b.received}/${b.expected}`,
    fmt(b.triggerResponseMs, 1),
    fmt(b.firstMs, 1),
    fmt(b.p50Ms, 1),
    fmt(b.p99Ms, 1),
    b.allReachedMs === null ? `– (last seen ${fmt(b.lastMs, 1)})` : fmt(b.allReachedMs, 1),
  ]);
  return table(['event', 'streams reached', 'trigger call ms', 'first ms', 'p50 ms', 'p99 ms', 'all reached ms'], rows);
}

function redisTable(results) {
  const rows = Object.entries(results.loads)
    .filter(([, run]) => run.redis)
    .map(([, run]) => [
      run.label,
      fmt(run.redis.commandsPerCall, 3),
      fmt(run.redis.trimsPerCall, 3),
      fmt(run.redis.commandsPerCompletedCall, 3),
      fmt(run.redis.newConnectionsPerCall, 4),
      Object.entries(run.redis.perCallByCommand)
        .sort(([, x], [, y]) => y - x)
        .map(([name, n]) => `${name} ${fmt(n, 3)}`)
        .join(', '),
    ]);
  return table(['target', 'cmds/call', 'log upkeep/call', 'all cmds/completed call', 'new conns/call', 'per call by command'], rows);
}

function memoryTable(results) {
  const rows = Object.values(results.memory).map((m) => [
    m.label,
    m.sessions,
    fmt(m.heapBytesPerSession / KB, 2),
    fmt(m.rssBytesPerSession / KB, 2),
    m.redisBytesPerSession === null ? '–' : fmt(m.redisBytesPerSession, 0),
    fmt(m.sessionsPerSecond, 0),
  ]);
  return table(['server', 'idle sessions', 'heap KB/session', 'RSS KB/session', 'Redis bytes/session', 'sessions/s opened'], rows);
}

export function printReport(results) {
  const s = results.settings;
  console.log(`\nMCP benchmark, ${results.date}; ${results.machine.cpus} × ${results.machine.cpuModel}; node ${results.machine.node}; redis ${results.machine.redis}`);
  console.log(`load average ${results.machine.loadAverageAtStart.join(' ')} at start, ${results.machine.loadAverageAtEnd.join(' ')} at end (shared machine: compare runs)`);
  console.log(`${s.connections} connections, ${s.durationS} s measured after ${s.warmupS} s warm-up per target; echo tool calls, one session per connection\n`);
  if (runsOf(results, SESSION_KEYS).length > 0) {
    if ((results.ratioRounds ?? []).length > 1) {
      const rows = results.ratioRounds.map((r, i) => [i + 1, fmt(r.dRequestsPerSecond, 0), fmt(r.aRequestsPerSecond, 0), fmt(r.ratio, 2), fmt(r.cpuRatio, 2)]);
      console.log(`(d), (a) measured in ${rows.length} back-to-back pairs; (a) and (d) below are the pair with the median ratio`);
      console.log(`${table(['pair', '(d) req/s', '(a) req/s', '(a) ÷ (d)', 'per CPU-s'], rows)}\n`);
    }
    console.log(`${loadTable(results)}\n`);
    console.log(`CPU during the window; calls/CPU-s = calls per CPU-second of the servers (+ Redis)\n${cpuTable(results, SESSION_KEYS, 'd')}\n`);
  }
  if (runsOf(results, MODERN_KEYS).length > 0) {
    console.log(`The 2026-07-28 era: the same stateless tools/call echo on every connection (no session), ${s.connections} connections`);
    if ((results.modernRatioRounds ?? []).length > 1) {
      const rows = results.modernRatioRounds.map((r, i) => [i + 1, fmt(r.fRequestsPerSecond, 0), fmt(r.eRequestsPerSecond, 0), fmt(r.ratio, 2), fmt(r.cpuRatio, 2)]);
      console.log(`(f), (e) measured in ${rows.length} back-to-back pairs; (e) and (f) below are the pair with the median ratio`);
      console.log(`${table(['pair', '(f) req/s', '(e) req/s', '(e) ÷ (f)', 'per CPU-s'], rows)}\n`);
    }
    console.log(`${modernLoadTable(results)}\n`);
    console.log(`CPU during the window (2026-07-28 targets)\n${cpuTable(results, MODERN_KEYS, 'f')}\n`);
  }
  if (Object.values(results.loads).some((run) => run.redis)) {
    console.log('Redis cost per tool call (cmds/call: commands other than the timer-driven ones and the event log\'s upkeep, over calls sent;');
    console.log('log upkeep/call: trims (LTRIM, and what the append-and-trim script runs inside) and log creation (RPUSH), over calls sent;');
    console.log(`all cmds/completed call: every command in the window over completed calls)\n${redisTable(results)}\n`);
  }
  if (Object.keys(results.memory).length > 0) console.log(`Idle sessions (initialize + initialized), per session, heap after GC\n${memoryTable(results)}\n`);
  for (const listen of [results.listen, results.listenFloor]) {
    if (!listen || listen.error) continue;
    const env = Object.entries(listen.serverEnv ?? {}).map(([k, v]) => `${k}=${v}`);
    console.log(`Idle subscriptions/listen streams: ${listen.streams} on ${listen.label}${env.length ? ` (${env.join(' ')})` : ''},`);
    console.log(`held by ${listen.clientProcesses} client processes, opened at ${fmt(listen.openedPerSecond, 0)} streams/s`);
    console.log(
      `per stream, after GC: heap ${fmt(listen.heapBytesPerStream / KB, 2)} KB, RSS ${fmt(listen.rssBytesPerStream / KB, 2)} KB, external ${fmt(listen.externalBytesPerStream / KB, 2)} KB; server heap ${fmt(listen.heapUsedAfter / 2 ** 20, 1)} MB, RSS ${fmt(listen.rssAfter / 2 ** 20, 1)} MB with them open`,
    );
    console.log(`heap still held per stream once all were closed again: ${fmt(listen.residualHeapBytesPerStream, 0)} bytes`);
    console.log(`tools/list_changed broadcasts (test_trigger_tool_change), times from sending the trigger call\n${listenTable(listen)}\n`);
  }
  console.log('Targets');
  for (const check of results.checks) console.log(`  ${check.status.padEnd(4)}  ${check.name}: ${check.shown}`);
  for (const [key, run] of Object.entries(results.loads)) {
    if (run.failures > 0) console.log(`\n(${key}) failed calls, first body: ${run.failedSample ?? '(none captured)'}`);
  }
}

export function writeJson(results, dir) {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = results.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, 'latest.json'), text);
  writeFileSync(path.join(dir, `run-${stamp}.json`), text);
  return path.join(dir, 'latest.json');
}
