// Every process the benchmark starts is registered here, so that it is killed
// (by pid) whatever happens: normal end, an exception, Ctrl-C or the watchdog.
import { spawn } from 'node:child_process';

const tracked = new Map(); // pid -> name

/** Registers a process we did not spawn ourselves (e.g. the private redis-server). */
export function trackPid(name, pid) {
  if (pid) tracked.set(pid, name);
}

/** SIGKILLs every process still registered. Synchronous, so it also works in process.on('exit'). */
export function killAllChildren() {
  for (const pid of tracked.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tracked.clear();
}

/** Kills every child on exit, on SIGINT/SIGTERM, and after `timeoutMs` (the watchdog). */
export function installCleanup(timeoutMs) {
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, killing children`);
      killAllChildren();
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    console.error(`bench: watchdog fired after ${timeoutMs / 1000} s; killing children`);
    killAllChildren();
    process.exit(2);
  }, timeoutMs);
  watchdog.unref();
}

/**
 * Spawns a tracked child. Its output is drained and the last few KB kept, so a
 * failing child can be explained without filling a pipe or the console.
 */
export function spawnChild(name, command, args, { env, ipc = false } = {}) {
  const stdio = ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(command, args, { env, stdio });
  trackPid(name, child.pid);
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => tracked.delete(child.pid));
  return {
    name,
    child,
    pid: child.pid,
    exited,
    output: () => tail,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    /** SIGTERM (graceful), then SIGKILL after graceMs. */
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once `url` answers HTTP at all; rejects if the child exits first or on timeout. */
export async function waitForHttp(url, proc, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.isRunning()) throw new Error(`${proc.name} exited before listening:\n${proc.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on ${url} within ${timeoutMs} ms:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
