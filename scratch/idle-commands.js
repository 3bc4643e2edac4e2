// Counts the Redis commands one idle instance sends (no traffic): a private redis-server (or a
// private Redis Cluster with `--cluster`), one instance with default settings, MONITOR on every
// master after a warm-up, counting the lines from the instance's own connections (their names
// start with `mcp:`; a cluster's replication traffic is left out). A script's commands count
// too (EVAL and the PEXPIRE it runs are two lines), as INFO commandstats counts them. Needs
// `npm run build` first.
//   node scratch/idle-commands.js [--cluster] [seconds=30]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createClient } from 'redis';
import { startPrivateRedis } from '../test/support/redis-server.js';
import { startPrivateCluster } from '../test/support/redis-cluster.js';

const cluster = process.argv.includes('--cluster');
const seconds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 30);
const store = cluster ? await startPrivateCluster() : await startPrivateRedis();
const ports = cluster ? store.ports : [store.port];
const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'none', LOG_LEVEL: 'warn', REQUEST_STATE_KEY: 'x'.repeat(40) };
if (cluster) env.REDIS_CLUSTER_NODES = store.nodes.join(',');
else env.REDIS_URL = store.url;
delete env.INSTANCE_LEASE_TTL_MS;
delete env.INSTANCE_HEARTBEAT_MS;
const child = spawn(process.execPath, [path.resolve('dist/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });

const clients = await Promise.all(
  ports.map(async (port) => {
    const c = createClient({ url: `redis://127.0.0.1:${port}` });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }),
);
const masters = [];
for (const c of clients) if ((await c.info('replication')).includes('role:master')) masters.push(c);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(5000);
// The instance's connections on each master, by address.
const ours = new Set();
for (const c of masters) {
  for (const line of String(await c.sendCommand(['CLIENT', 'LIST'])).split('\n')) {
    const addr = /addr=(\S+)/.exec(line)?.[1];
    if (addr && / name=mcp:/.test(line)) ours.add(addr);
  }
}
const counts = {};
const monitors = await Promise.all(
  masters.map(async (c) => {
    const m = c.duplicate();
    m.on('error', () => undefined);
    await m.connect();
    await m.monitor((line) => {
      // 1700000000.123456 [0 127.0.0.1:5555] "pexpire" ...   or   [0 lua] "pexpire" ...
      const match = /^\S+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
      if (!match) return;
      const [, from, name] = match;
      if (from !== 'lua' && !ours.has(from)) return;
      const key = (from === 'lua' ? 'lua:' : '') + name.toLowerCase();
      counts[key] = (counts[key] ?? 0) + 1;
    });
    return m;
  }),
);
await sleep(seconds * 1000);
await Promise.all(monitors.map((m) => m.close().catch(() => undefined)));
const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ backend: cluster ? 'cluster' : 'node', seconds, total, perSecond: +(total / seconds).toFixed(2), counts }));
child.kill('SIGKILL');
await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
await store.stop();
