// Plain JavaScript (with redis-server.d.ts beside it) so that jest's globalSetup,
// which runs outside the TypeScript transform, can use it as well as the suites.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createClient } from 'redis';

/** A free loopback port, found by binding port 0. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function launch(port) {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
}

async function waitForPing(url, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return;
    } catch {
      await client.close().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`redis-server on ${url} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A private redis-server on a free loopback port; never the machine's shared one. */
export async function startPrivateRedis() {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child = launch(port);
  await waitForPing(url);
  return {
    url,
    port,
    get pid() {
      return child.pid;
    },
    async stop() {
      await stopProcess(child);
    },
    async restart(downMs = 0) {
      await stopProcess(child);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child = launch(port);
      await waitForPing(url);
    },
  };
}
