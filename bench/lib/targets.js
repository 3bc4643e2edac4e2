// How each system under test is started: our server (Redis or embedded), the
// official @modelcontextprotocol/server-everything, a minimal SDK v2 server and a
// bare node:http echo (the 2026-07-28 comparisons), each as its own process.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/redis-server.js';
import { spawnChild, waitForHttp } from './children.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// BENCH_OUR_ENTRY benchmarks another build of ours (e.g. a copy of dist/ with a change), A/B style.
const OUR_ENTRY = process.env.BENCH_OUR_ENTRY ? path.resolve(process.env.BENCH_OUR_ENTRY) : path.join(ROOT, 'dist/main.js');
const OFFICIAL_ENTRY = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const MEMORY_HOOK = path.join(ROOT, 'bench/lib/memory-hook.js');
const SDK_V2_ENTRY = path.join(ROOT, 'bench/targets/sdk-v2-echo.js');
const BARE_ENTRY = path.join(ROOT, 'bench/targets/bare-echo.js');

/** Node flags for a child whose heap we measure: gc() exposed, a hook answering over IPC. */
function nodeArgs(entry, withMemoryHook) {
  return withMemoryHook ? ['--expose-gc', '--import', MEMORY_HOOK, entry] : [entry];
}

/**
 * A minimal environment: nothing from ours leaks in (a stray REDIS_URL would
 * turn "embedded" into Redis mode, or point at the machine's shared Redis).
 */
function baseEnv() {
  return { PATH: process.env.PATH, NODE_ENV: 'production' };
}

/** BENCH_SERVER_NODE_ARGS: extra node flags for our server only (e.g. --cpu-prof for profiling). */
function ourNodeFlags() {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/**
 * One instance of our server; `redisUrl` undefined means embedded mode. `env`
 * adds settings of ours (e.g. SESSION_EVICT_AFTER_S) on top of the minimal environment.
 */
export async function startOurs(name, redisUrl, { memoryHook = false, env: extraEnv = {} } = {}) {
  const port = await freePort();
  const env = {
    ...baseEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_MODE: 'none',
    LOG_LEVEL: 'warn',
    ...(redisUrl ? { REDIS_URL: redisUrl, REQUEST_STATE_KEY: 'bench-request-state-key-of-32-bytes-or-more' } : {}),
    ...extraEnv,
  };
  const args = [...ourNodeFlags(), ...nodeArgs(OUR_ENTRY, memoryHook)];
  const proc = spawnChild(name, process.execPath, args, { env, ipc: memoryHook });
  const url = `http://127.0.0.1:${port}`;
  // With LOG_LEVEL=warn the "listening" line is not printed; poll instead.
  await waitForHttp(`${url}/mcp`, proc);
  return { ...proc, url, port };
}

/** The official everything server in streamableHttp mode; its port comes from env PORT (default 3001). */
export async function startOfficial(name, { memoryHook = false } = {}) {
  const port = await freePort();
  const env = { ...baseEnv(), PORT: String(port) };
  const args = [...nodeArgs(OFFICIAL_ENTRY, memoryHook), 'streamableHttp'];
  const proc = spawnChild(name, process.execPath, args, { env, ipc: memoryHook });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/mcp`, proc);
  return { ...proc, url, port };
}

/** BENCH_SCRIPT_NODE_ARGS: extra node flags for the (f) and (g) scripts only (e.g. --cpu-prof). */
function scriptNodeFlags() {
  return (process.env.BENCH_SCRIPT_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** A bench script listening on 127.0.0.1:$PORT (bench/targets/). */
async function startScript(name, entry, { memoryHook = false } = {}) {
  const port = await freePort();
  const args = [...scriptNodeFlags(), ...nodeArgs(entry, memoryHook)];
  const proc = spawnChild(name, process.execPath, args, { env: { ...baseEnv(), PORT: String(port) }, ipc: memoryHook });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/mcp`, proc);
  return { ...proc, url, port };
}

/** (f): createMcpHandler(factory, { legacy: 'reject' }) of @modelcontextprotocol/server, on node:http via toNodeHandler. */
export function startSdkV2(name) {
  return startScript(name, SDK_V2_ENTRY);
}

/** (g): node:http, JSON.parse of the body, the echo result written back. The floor (of listen streams too). */
export function startBare(name, options) {
  return startScript(name, BARE_ENTRY, options);
}
