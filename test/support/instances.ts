import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';

export type Backend = 'memory' | 'redis';

/** Settings every test instance shares: quiet logs, an ephemeral port, localhost only. */
export const TEST_REQUEST_STATE_KEY = 'test-request-state-key-of-32-bytes-or-more';

function testEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    AUTH_MODE: 'none',
    INSTANCE_LEASE_TTL_MS: '3000',
    REQUEST_TIMEOUT_S: '20',
    // Every instance of a test shares the key that seals 2026-07-28 request state.
    REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
    ...overrides,
  };
}

/** An app instance in this process (real HTTP listener, real backend). */
export async function startInstance(redisUrl: string | undefined, overrides: Record<string, string> = {}): Promise<RunningServer> {
  const env = testEnv({ ...(redisUrl ? { REDIS_URL: redisUrl } : {}), ...overrides });
  const config = loadConfig(env);
  return startServer(config, createLogger(config.logLevel, true));
}

/** An app instance as its own process, for tests that kill it. Needs `npm run build` first. */
export interface ChildInstance {
  url: string;
  process: ChildProcess;
  /** The last few KB the process wrote (stdout and stderr): its last log lines, or how it crashed. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const OUTPUT_TAIL_CHARS = 4096;

/**
 * The URL to dial from the "listening" log line: its `address` (the bound socket; `url` is the
 * public BASE_URI, which need not name this port), with a wildcard address made loopback.
 */
function listeningAddress(output: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"listening"')) continue;
    let entry: { message?: unknown; address?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // not a JSON line, or not all of it yet
    }
    const match = entry.message === 'listening' && typeof entry.address === 'string' ? /^(.*):(\d+)$/.exec(entry.address) : null;
    if (!match) continue;
    const host = ['0.0.0.0', '[::]'].includes(match[1]!) ? '127.0.0.1' : match[1]!;
    return `http://${host}:${match[2]}`;
  }
  return undefined;
}

/** The test process's environment without its Redis settings: a child is told where Redis is, one node or a cluster, never both. */
function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'REDIS_URL' && name !== 'REDIS_CLUSTER_NODES'));
}

/** On a Redis Cluster, pass no URL and REDIS_CLUSTER_NODES in the overrides. */
export async function startChildInstance(redisUrl: string | undefined, overrides: Record<string, string> = {}): Promise<ChildInstance> {
  const entry = path.resolve('dist/main.js');
  const child = spawn(process.execPath, [entry], {
    env: { ...inheritedEnv(), ...testEnv({ ...(redisUrl ? { REDIS_URL: redisUrl } : {}), LOG_LEVEL: 'info', ...overrides }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`instance did not start: ${buffer}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const url = listeningAddress(buffer);
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code}: ${buffer}`));
    });
  });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    url,
    process: child,
    output: () => tail,
    kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
