/**
 * SseWriter.endDroppingUnread over a real socket: a client that keeps up gets the
 * end of the stream; one that stopped reading loses its unread bytes and its
 * connection at once, however far below the stream's bound it is (no linger).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Response } from 'express';
import { SseWriter } from './sse-writer.js';

const LINGER_MS = 30_000;

let server: Server;
let responses: ServerResponse[];
let clients: Socket[];

beforeEach(async () => {
  responses = [];
  clients = [];
  server = createServer((_req, res) => void responses.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A GET stream whose client reads (or, `reading: false`, reads nothing at all). */
async function stream(reading: boolean) {
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  clients.push(client);
  let received = '';
  if (reading) client.on('data', (chunk: Buffer) => (received += chunk.toString()));
  else client.pause();
  client.write('GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
  await waitFor(() => responses.length === clients.length);
  const res = responses.at(-1)!;
  const closed = new Promise<void>((resolve) => res.on('close', resolve));
  // No bound: the stream never counts as full; only unread bytes matter.
  const writer = new SseWriter(res as unknown as Response, { maxBufferedBytes: Number.POSITIVE_INFINITY, lingerMs: LINGER_MS });
  writer.open();
  return { res, writer, closed, received: () => received };
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a client that stopped reading loses its unread bytes and its connection at once, below the bound', async () => {
  const { res, writer, closed } = await stream(false);
  const data = 'x'.repeat(16 * 1024);
  // Until the kernel's buffers are full and the process holds bytes the client did not take.
  while (res.writableLength === 0) {
    for (let i = 0; i < 64; i++) writer.event(data);
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(writer.isFull).toBe(false);
  const started = Date.now();
  writer.endDroppingUnread();
  await closed;
  expect(res.destroyed).toBe(true);
  expect(Date.now() - started).toBeLessThan(LINGER_MS / 10);
});

test('a client that keeps up gets the end of the stream', async () => {
  const { res, writer, closed, received } = await stream(true);
  writer.event('{"last":true}');
  writer.endDroppingUnread();
  await waitFor(() => received().endsWith('0\r\n\r\n'));
  expect(received()).toContain('data: {"last":true}\n\n');
  expect(res.writableFinished).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Ended, not cut: the connection stays for the client's next request.
  expect(res.socket?.destroyed ?? false).toBe(false);
  void closed;
});
