/**
 * An instance stops within its grace even when a connection arrives while it
 * drains. Found through the 2026-07-28 era: when the v2 SDK client closes a
 * subscriptions/listen stream it aborts that request, and its connection pool
 * (undici) opens a fresh connection as the aborted one closes. If the instance
 * is stopped at that moment, the fresh connection is accepted after stop()
 * closed every connection but before the listener itself closes; it carries no
 * request, so nothing ever ends it, and stop() waits for it (in a test, until
 * the client drops it a minute later; in production, until the forced exit
 * after SHUTDOWN_GRACE_MS + 5 s, with exit code 1).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import net, { type Socket } from 'node:net';
import { once } from 'node:events';
import type { RunningServer } from '../src/server.js';
import { startInstance } from './support/instances.js';
import { isMethod, MODERN_REVISION, openListen } from './support/modern.js';

/** How long past its grace a stop may take before the test calls it stuck. */
const STOP_MARGIN_MS = 4000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every connection the instance accepts from now on, server side, so that the test can always end them. */
function acceptedConnections(server: RunningServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Whether `stopping` settles within `ms`; afterwards the connections are ended so that it surely does. */
async function stopsWithin(stopping: Promise<void>, ms: number, sockets: Set<Socket>): Promise<boolean> {
  const outcome = await Promise.race([stopping.then(() => true), sleep(ms).then(() => false)]);
  for (const socket of sockets) socket.destroy();
  await stopping;
  return outcome;
}

test('a connection opened while an instance drains does not keep stop() from finishing', async () => {
  const server = await startInstance(undefined);
  const sockets = acceptedConnections(server);
  const { port, hostname } = new URL(server.url);
  const grace = 1500;
  const stopping = server.stop(grace);
  // The listener still accepts for a moment after a stop begins (a load balancer may not know yet).
  await sleep(300);
  const client = net.connect(Number(port), hostname);
  client.on('error', () => undefined);
  await once(client, 'connect');
  try {
    expect(await stopsWithin(stopping, grace + STOP_MARGIN_MS, sockets)).toBe(true);
  } finally {
    client.destroy();
  }
});

test('an instance stopped just after a v2 client closed its listen stream stops promptly', async () => {
  const server = await startInstance(undefined);
  const sockets = acceptedConnections(server);
  const client = new Client({ name: 'v2-shutdown', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN_REVISION } } });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', server.url)));
  const subscription = await client.listen({ toolsListChanged: true });
  await client.callTool({ name: 'echo', arguments: { message: 'while listening' } });
  await sleep(300);
  await subscription.close();
  await client.close();
  expect(await stopsWithin(server.stop(), STOP_MARGIN_MS, sockets)).toBe(true);
});

test('a drain ends every listen stream with its result (tagged with the subscription id); the budget unit is given back', async () => {
  const server = await startInstance(process.env.TEST_REDIS_URL!);
  const streams = await Promise.all([1, 2].map((n) => openListen(server.url, { toolsListChanged: true }, { id: `drained-${n}` })));
  for (const stream of streams) await stream.waitFor(isMethod('notifications/subscriptions/acknowledged'), 'the acknowledgement');
  expect(server.runtime.modern.listens.size).toBe(2);
  const stopping = server.stop(2000);
  // Each stream ends by itself, with the listen request's result: the client knows it was not an error.
  await Promise.all(streams.map((stream) => stream.ended));
  for (const [index, stream] of streams.entries()) {
    const last = stream.messages.at(-1)!;
    expect(last).toMatchObject({ id: `drained-${index + 1}`, result: { resultType: 'complete' } });
    expect(last.result._meta['io.modelcontextprotocol/subscriptionId']).toBe(`drained-${index + 1}`);
  }
  await stopping;
  expect(server.runtime.modern.listens.size).toBe(0);
  expect(server.runtime.streams.held()).toBe(0);
});
