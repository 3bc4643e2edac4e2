// A private Redis Cluster for the tests: 3 masters and 3 replicas on free loopback
// ports (each node's cluster bus port, its port + 10000, free too), created with
// `redis-cli --cluster create … --cluster-replicas 1`. Plain JavaScript, like
// redis-server.js, so that jest's globalSetup can use it.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

/** Whether a loopback port can be bound right now. */
function bindable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port below 55536 whose bus port (+10000) is free too. */
async function freeClusterPort(taken) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (port >= 55536 || taken.has(port) || taken.has(port + 10000)) continue;
    if (await bindable(port + 10000)) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function launch(port, dir) {
  return spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
      // Fail over quickly once a master stops answering (the default is 15 s).
      '--cluster-node-timeout', '1000',
      // Replicas sync at once (by default a diskless sync waits 5 s for more replicas to join).
      '--repl-diskless-sync-delay', '0',
      '--dir', dir, '--logfile', path.join(dir, `redis-${port}.log`),
    ],
    { stdio: 'ignore' },
  );
}

async function info(port, section) {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 500 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.sendCommand(['CLUSTER', section]));
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function nodeInfo(port, section) {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 500 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.info(section);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function stopProcess(child, signal = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Starts the cluster; resolves once every node reports `cluster_state:ok`. */
export async function startPrivateCluster() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-cluster-'));
  const taken = new Set();
  const ports = [];
  for (let i = 0; i < 6; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port);
    taken.add(port + 10000);
    ports.push(port);
  }
  const nodes = new Map(ports.map((port) => [port, launch(port, dir)]));
  /** Resolves once every node reports `cluster_state:ok` and every replica is in sync with its master. */
  const healthy = async () => {
    await Promise.all(ports.map((port) => waitFor(async () => (await info(port, 'INFO')).includes('cluster_state:ok'), 20_000, `node ${port} in a healthy cluster`)));
    // Every replica in sync with its master: one that never synced would not fail over.
    await Promise.all(
      ports.map((port) =>
        waitFor(async () => {
          const replication = await nodeInfo(port, 'replication');
          return replication.includes('role:master') || replication.includes('master_link_status:up');
        }, 20_000, `node ${port} replicating`),
      ),
    );
  };
  try {
    await Promise.all(ports.map((port) => waitFor(async () => (await info(port, 'INFO')).includes('cluster_state'), 10_000, `node ${port} up`)));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    await healthy();
  } catch (error) {
    await Promise.all([...nodes.values()].map((child) => stopProcess(child)));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    /** Seed nodes, as REDIS_CLUSTER_NODES takes them. */
    nodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    ports,
    /** The nodes' process ids (new ones after a restart). */
    get pids() {
      return [...nodes.values()].map((child) => child.pid);
    },
    /** Kills one node (SIGKILL). */
    async kill(port) {
      await stopProcess(nodes.get(port));
    },
    /**
     * Kills every node (SIGKILL) and, after downMs, starts each again on its port with its cluster
     * config file: the same nodes, slots and roles, and no data (nothing is persisted). Resolves once
     * the cluster is healthy again.
     */
    async restart(downMs = 0) {
      await Promise.all([...nodes.values()].map((child) => stopProcess(child)));
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      for (const port of ports) nodes.set(port, launch(port, dir));
      await healthy();
    },
    async stop() {
      await Promise.all([...nodes.values()].map((child) => stopProcess(child)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
