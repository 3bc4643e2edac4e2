/**
 * Load shedding: above its memory threshold an instance refuses new
 * sessions, calls and streams with 503 + Retry-After naming the setting, and
 * /ready says so; what finishes running work (notifications, answers to the
 * server) still gets in. Below it again, everything is served. Measured on this
 * process: the instance runs in it, and its threshold is moved around the
 * process's real resident memory.
 */
import v8 from 'node:v8';
import type { RunningServer } from '../src/server.js';
import { startInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';


const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
});

async function readiness(url: string): Promise<{ status: number; body: { shedding: string | false } }> {
  const response = await fetch(`${url}/ready`);
  return { status: response.status, body: (await response.json()) as { shedding: string | false } };
}

describe('shedding on resident memory (SHED_RSS_MB)', () => {
  const MB = 1048576;
  let server: RunningServer;

  beforeAll(async () => {
    server = await startInstance(undefined, { SHED_RSS_MB: String(Math.ceil(process.memoryUsage.rss() / MB) + 10_000), SHED_HEAP_PERCENT: '0' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /**
   * Moves the instance's threshold to `mb` and samples at once. The RSS itself is not driven
   * from here: a test's ballast may never show in RSS (on a machine short of memory the kernel
   * keeps it out), while the process's real RSS is what the shedder reads either way.
   */
  const threshold = (mb: number) => {
    (server.runtime.shedder as unknown as { thresholds: { rssBytes: number } }).thresholds.rssBytes = mb * MB;
    server.runtime.shedder.check();
  };

  test('above the threshold: 503 for new sessions, calls and streams, naming it; notifications still get in; below it again, all served', async () => {
    const url = server.url;
    const sessionId = await openSession(url);
    expect((await readiness(url)).status).toBe(200);

    // The process's resident memory is now above the threshold.
    threshold(Math.max(1, Math.floor(process.memoryUsage.rss() / MB / 2)));
    expect((await readiness(url)).status).toBe(503);
    expect((await readiness(url)).body.shedding).toContain('SHED_RSS_MB');

    const refused = await fetch(`${url}/mcp`, { method: 'POST', headers: mcpHeaders(), body: INITIALIZE });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { data: { limit: string } } }).error.data.limit).toBe('SHED_RSS_MB');
    expect((await post(url, sessionId, toolCall(1, 'echo', { message: 'x' }))).status).toBe(503);
    const stream = await fetch(`${url}/mcp`, { headers: { ...mcpHeaders(undefined, sessionId), accept: 'text/event-stream' } });
    expect(stream.status).toBe(503);
    await stream.text();
    const legacy = await fetch(`${url}/sse`, { headers: { accept: 'text/event-stream' } });
    expect(legacy.status).toBe(503);
    await legacy.text();
    const notification = await post(url, sessionId, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    expect(notification.status).toBe(202);

    // Below it again: memory in use back under the threshold.
    threshold(Math.ceil(process.memoryUsage.rss() / MB) + 10_000);
    await waitUntil(async () => (await readiness(url)).status === 200, 5000, '/ready to recover');
    const served = sseMessages(await (await post(url, sessionId, toolCall(2, 'echo', { message: 'back' }))).text());
    expect(served[0]?.result.content[0].text).toBe('Echo: back');
    expect(await openSession(url)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('shedding on the V8 heap (SHED_HEAP_PERCENT)', () => {
  test('a threshold below the heap in use sheds at once; one above it does not', async () => {
    const heap = v8.getHeapStatistics();
    const inUse = (heap.used_heap_size / heap.heap_size_limit) * 100;
    const below = await startInstance(undefined, { SHED_HEAP_PERCENT: String(inUse / 2) });
    const above = await startInstance(undefined, { SHED_HEAP_PERCENT: '99' });
    try {
      const shedding = await readiness(below.url);
      expect(shedding.status).toBe(503);
      expect(shedding.body.shedding).toContain('SHED_HEAP_PERCENT');
      const refused = await fetch(`${below.url}/mcp`, { method: 'POST', headers: mcpHeaders(), body: INITIALIZE });
      expect(refused.status).toBe(503);
      await refused.text();
      expect((await readiness(above.url)).status).toBe(200);
      expect(await openSession(above.url)).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await Promise.all([below.stop(), above.stop()]);
    }
  });
});
