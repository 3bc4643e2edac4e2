// Resident memory of a process, from /proc/<pid>/status (Linux).
import { readFileSync } from 'node:fs';

/** A "VmXxx:   1234 kB" field of /proc/<pid>/status in bytes, or null if unreadable. */
function statusField(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** rss: VmRSS now; peak: VmHWM, the highest RSS since the process started. */
export function processMemory(pid) {
  return { rss: statusField(pid, 'VmRSS'), peak: statusField(pid, 'VmHWM') };
}

/** processMemory of every { name, pid }, plus their sums. */
export function processesMemory(processes) {
  const byName = Object.fromEntries(processes.map((p) => [p.name, processMemory(p.pid)]));
  const sum = (field) => Object.values(byName).reduce((total, m) => total + (m[field] ?? 0), 0);
  return { byName, totalRss: sum('rss'), totalPeak: sum('peak') };
}

/** Samples processesMemory every `intervalMs` until stopped; returns the samples. */
export function sampleMemory(processes, intervalMs = 2000) {
  const startedAt = performance.now();
  const samples = [];
  const take = () => samples.push({ atS: (performance.now() - startedAt) / 1000, ...processesMemory(processes) });
  take();
  const timer = setInterval(take, intervalMs);
  return () => {
    clearInterval(timer);
    take();
    return samples;
  };
}
