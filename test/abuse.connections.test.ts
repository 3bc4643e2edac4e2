/**
 * Connections a stranger can make an instance hold: a request whose
 * headers or body never finish is answered 408 and closed (HEADERS_TIMEOUT_S,
 * BODY_TIMEOUT_S), also on an authenticated POST /mcp; open connections per client
 * address are bounded (MAX_CONNECTIONS_PER_IP), with a 429 naming the setting.
 * Other addresses are served throughout. (Any 127.x.y.z reaches a server on
 * 127.0.0.1: each stands for one client address.)
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { signIn } from './support/auth-flow.js';
import { expectServed } from './support/abuse.js';
import { mcpHeaders, openSession, waitUntil } from './support/raw-mcp.js';

/** A raw connection from `from` that sends `text` and then nothing; records what comes back and when it closes. */
function stall(url: string, text: string, from = '127.0.0.1') {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port), localAddress: from });
  let received = '';
  const openedAt = Date.now();
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.once('connect', () => text && socket.write(text));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - openedAt)));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, connected, closed, received: () => received };
}

/** GET /health from a given client address. */
function health(url: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}/health`, { localAddress: from, agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('error', reject);
  });
}

describe('requests that never finish arriving', () => {
  let deployment: AuthDeployment;
  let token: string;
  let other: string;

  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, { HEADERS_TIMEOUT_S: '1', BODY_TIMEOUT_S: '2' });
    token = (await signIn(deployment.baseUri, `slowloris-${randomUUID()}`)).tokens.access_token;
    other = (await signIn(deployment.baseUri, `patient-${randomUUID()}`)).tokens.access_token;
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('a stalled body on an authenticated POST /mcp is answered 408 and closed within BODY_TIMEOUT_S; others are served meanwhile', async () => {
    const url = deployment.urls[0]!;
    const sessionId = await openSession(url, token);
    const headers = Object.entries({ ...mcpHeaders(token, sessionId), 'content-length': '1000' })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    const host = new URL(url).host;
    const stalled = Array.from({ length: 20 }, () => stall(url, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\n${headers}\r\n\r\n{"jsonrpc":"2.0",`));
    await expectServed(url, other);
    const after = await Promise.all(stalled.map((s) => s.closed));
    for (const [i, ms] of after.entries()) {
      expect(ms).toBeGreaterThanOrEqual(1900);
      expect(ms).toBeLessThan(4000);
      expect(stalled[i]!.received()).toMatch(/^HTTP\/1\.1 408/);
    }
    expect(deployment.servers[0]!.runtime.requests.active).toBe(0);
    await expectServed(url, token);
  });

  test('headers that never finish (and a connection that sends nothing) are closed within HEADERS_TIMEOUT_S', async () => {
    const url = deployment.urls[0]!;
    const partial = stall(url, 'GET /mcp HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n');
    const silent = stall(url, '');
    const [partialMs, silentMs] = await Promise.all([partial.closed, silent.closed]);
    expect(partialMs).toBeLessThan(3000);
    expect(silentMs).toBeLessThan(3000);
    expect(partial.received()).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('connections per client address', () => {
  let deployment: AuthDeployment;
  let other: string;

  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, { MAX_CONNECTIONS_PER_IP: '10' });
    other = (await signIn(deployment.baseUri, `patient-${randomUUID()}`)).tokens.access_token;
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('past MAX_CONNECTIONS_PER_IP a connection gets 429 naming it and is closed; other addresses are served; a closed one frees its place', async () => {
    const url = deployment.urls[0]!;
    const held = Array.from({ length: 10 }, () => stall(url, '', '127.0.0.2'));
    await Promise.all(held.map((h) => h.connected));
    const refused = stall(url, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.2');
    await refused.closed;
    expect(refused.received()).toMatch(/^HTTP\/1\.1 429/);
    expect(refused.received()).toMatch(/Retry-After: \d+/);
    expect(refused.received()).toContain('MAX_CONNECTIONS_PER_IP');
    // What arrives on a refused connection is not served: an initialize there makes no session.
    const sessionsBefore = deployment.servers[0]!.runtime.host.size;
    const host = new URL(url).host;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const sneaky = stall(
      url,
      `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nAuthorization: Bearer ${other}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      '127.0.0.2',
    );
    await sneaky.closed;
    expect(sneaky.received()).toMatch(/^HTTP\/1\.1 429/);
    expect(sneaky.received()).not.toContain('200 OK');
    expect(deployment.servers[0]!.runtime.host.size).toBe(sessionsBefore);
    // Another address is not affected.
    expect(await health(url, '127.0.0.3')).toBe(200);
    await expectServed(url, other);
    for (const h of held.slice(0, 3)) h.socket.destroy();
    await waitUntil(async () => (await health(url, '127.0.0.2').catch(() => 0)) === 200, 3000, 'a place freed');
    for (const h of held) h.socket.destroy();
  });
});
