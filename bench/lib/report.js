// Targets from the issue, PASS/FAIL verdicts, the printed table and the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KB = 1024;

export const LIMITS = {
  rpsRatioToOfficial: 2,
  p99Ms: 50,
  redisCommandsPerCall: 3,
  redisConnectionsPerCall: 0,
  heapBytesPerIdleSession: 20 * KB,
};

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
  for (const key of ['a', 'b', 'c']) {
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
  for (const key of ['redis', 'embedded']) {
    const m = memory[key];
    checks.push(
      verdict(`memory per idle session ≤ 20 KB (heap after GC, ${key})`, m?.heapBytesPerSession, m?.heapBytesPerSession <= LIMITS.heapBytesPerIdleSession, {
        shown: `${fmt(m?.heapBytesPerSession / KB, 2)} KB`,
      }),
    );
  }
  return checks;
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

function loadTable(results) {
  const d = results.loads.d;
  const rows = Object.values(results.loads).map((run) => [
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

function cpuTable(results) {
  const d = results.loads.d;
  const rows = Object.values(results.loads).map((run) => [
    run.label,
    fmt(run.callsPerCpuSecond, 0),
    ratio(run, d, 'callsPerCpuSecond'),
    cpuSummary(run.cpuPercent),
  ]);
  return table(['target', 'calls/CPU-s', '÷ (d)', 'CPU in % of one core (others = rest of the machine)'], rows);
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
  if (Object.keys(results.loads).length > 0) {
    if ((results.ratioRounds ?? []).length > 1) {
      const rows = results.ratioRounds.map((r, i) => [i + 1, fmt(r.dRequestsPerSecond, 0), fmt(r.aRequestsPerSecond, 0), fmt(r.ratio, 2), fmt(r.cpuRatio, 2)]);
      console.log(`(d), (a) measured in ${rows.length} back-to-back pairs; (a) and (d) below are the pair with the median ratio`);
      console.log(`${table(['pair', '(d) req/s', '(a) req/s', '(a) ÷ (d)', 'per CPU-s'], rows)}\n`);
    }
    console.log(`${loadTable(results)}\n`);
    console.log(`CPU during the window; calls/CPU-s = calls per CPU-second of the servers (+ Redis)\n${cpuTable(results)}\n`);
  }
  if (Object.values(results.loads).some((run) => run.redis)) {
    console.log('Redis cost per tool call (cmds/call: commands other than timer-driven SET/PEXPIRE and the event log\'s upkeep, over calls sent;');
    console.log('log upkeep/call: trims (LTRIM, and what the append-and-trim script runs inside) and log creation (RPUSH), over calls sent;');
    console.log(`all cmds/completed call: every command in the window over completed calls)\n${redisTable(results)}\n`);
  }
  if (Object.keys(results.memory).length > 0) console.log(`Idle sessions (initialize + initialized), per session, heap after GC\n${memoryTable(results)}\n`);
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
