// CPU time of processes over a window, from /proc (Linux), to see what saturates.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux

/** utime + stime of a pid in seconds, or undefined if unreadable. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from the first line of /proc/stat. */
function machineTicks() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const n = fields.map(Number);
    const idle = n[3] + n[4]; // idle + iowait
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring; the returned function gives each process's CPU in % of one
 * core, and the whole machine's (all processes, ours or not) in % of one core,
 * so that a neighbour eating the CPU shows.
 */
export function startCpuWindow(pids) {
  const startedAt = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const usage = {};
    for (const [name, pid] of Object.entries(pids)) {
      const after = cpuSeconds(pid);
      usage[name] = before[name] === undefined || after === undefined ? null : (100 * (after - before[name])) / seconds;
    }
    const self = process.cpuUsage(selfBefore);
    usage['load generator'] = (100 * (self.user + self.system)) / 1e6 / seconds;
    const machineAfter = machineTicks();
    if (machineBefore && machineAfter) {
      const cores = os.cpus().length;
      usage.machine = (100 * cores * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total);
    }
    return usage;
  };
}
