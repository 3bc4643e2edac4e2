/**
 * Session expiry: idle sessions end on every instance; an open standalone stream or
 * a running tool call keeps a session alive past the idle timeout.
 */
import { backendCases, instancesForSuite } from './support/backends.js';
import { MCP_HEADERS, openSession, post, sseMessages, toolCall, waitUntil } from './support/raw-mcp.js';

const IDLE = { SESSION_IDLE_TIMEOUT_S: '1' };

const backends = backendCases(IDLE);

describe.each(backends)('session lifecycle on %s', (_name, start) => {
  const instances = instancesForSuite(start);

  test('an idle session expires: 404 everywhere and its server is disposed', async () => {
    const before = instances.first.runtime.host.size;
    const sessionId = await openSession(instances.first.url);
    expect(instances.first.runtime.host.size).toBe(before + 1);
    await waitUntil(() => instances.first.runtime.host.has(sessionId) === false, 4000, 'owner disposed the session');
    for (const server of instances.all) {
      const response = await post(server.url, sessionId, toolCall(1, 'echo', { message: 'late' }));
      expect(response.status).toBe(404);
    }
  });

  test('an open standalone stream keeps the session alive past the idle timeout', async () => {
    const sessionId = await openSession(instances.first.url);
    const controller = new AbortController();
    const stream = await fetch(`${instances.second.url}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect(instances.first.runtime.host.has(sessionId)).toBe(true);
    const reply = await post(instances.second.url, sessionId, toolCall(1, 'echo', { message: 'kept' }));
    expect(sseMessages(await reply.text())[0]?.result.content[0].text).toBe('Echo: kept');
    controller.abort();
    await waitUntil(() => instances.first.runtime.host.has(sessionId) === false, 5000, 'expiry after the stream closed');
  });

  test('a tool call running longer than the idle timeout is not cut off', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await post(instances.second.url, sessionId, toolCall(2, 'longRunningOperation', { duration: 2.5, steps: 2 }));
    const messages = sseMessages(await response.text());
    expect(messages.at(-1)?.result.content[0].text).toBe('Long running operation completed. Duration: 2.5 seconds, Steps: 2.');
    const after = await post(instances.second.url, sessionId, toolCall(3, 'echo', { message: 'still here' }));
    expect(after.status).toBe(200);
    await after.text();
  });

  test('a standalone stream ends when its session is deleted', async () => {
    const sessionId = await openSession(instances.first.url);
    const stream = await fetch(`${instances.second.url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } });
    expect(stream.status).toBe(200);
    const drained = stream.text();
    const deleted = await fetch(`${instances.first.url}/mcp`, { method: 'DELETE', headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId } });
    expect(deleted.status).toBe(200);
    await expect(drained).resolves.toBeDefined();
  });
});
