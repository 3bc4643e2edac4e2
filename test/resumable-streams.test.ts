/**
 * Resumable streams: event ids, the priming event, and Last-Event-ID replay of
 * exactly the stream it names, from the session's event log — on another
 * instance than the one that served the stream.
 */
import { backendCases, instancesForSuite } from './support/backends.js';
import { parseSse } from './support/http-raw.js';
import { MCP_HEADERS, openSession, toolCall, waitUntil } from './support/raw-mcp.js';

const VERSION = { 'mcp-protocol-version': '2025-11-25' };

function postWithVersion(url: string, sessionId: string, body: unknown, signal?: AbortSignal) {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...VERSION, 'mcp-session-id': sessionId },
    body: JSON.stringify(body),
    signal,
  });
}

function resume(url: string, sessionId: string, lastEventId: string, signal?: AbortSignal) {
  return fetch(`${url}/mcp`, {
    headers: { accept: 'text/event-stream', ...VERSION, 'mcp-session-id': sessionId, 'last-event-id': lastEventId },
    signal,
  });
}

/** Reads raw SSE events until `enough` says so, then stops reading (the connection is aborted by the caller). */
async function readEvents(response: Response, enough: (events: ReturnType<typeof parseSse>) => boolean) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const events = parseSse(text);
    if (enough(events)) return { events, text };
    const { value, done } = await reader.read();
    if (done) return { events: parseSse(text), text };
    text += decoder.decode(value, { stream: true });
  }
}

describe.each(backendCases({ RESOURCE_UPDATE_INTERVAL_MS: '150' }))('resumable streams on %s', (_name, start) => {
  const instances = instancesForSuite(start);

  test('a POST stream opens with a priming event: an id, a retry field and no data', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await postWithVersion(instances.second.url, sessionId, toolCall(1, 'echo', { message: 'x' }));
    const text = await response.text();
    expect(text.startsWith('id: ')).toBe(true);
    expect(text.split('\n\n')[0]).toMatch(/^id: \S+\nretry: \d+\ndata: $/);
    const events = parseSse(text);
    expect(events[1]?.data).toContain('Echo: x');
    expect(text).toMatch(/id: \S+\nevent: message\ndata: \{"jsonrpc"/);
  });

  test('a client that lost its stream resumes on the other instance and gets each missed event exactly once', async () => {
    const sessionId = await openSession(instances.first.url);
    const controller = new AbortController();
    const call = toolCall(7, 'longRunningOperation', { duration: 1.2, steps: 4 }, 'progress-7');
    const response = await postWithVersion(instances.first.url, sessionId, call, controller.signal);
    // Priming event plus the first progress notification, then the client loses the stream.
    const { events: seen } = await readEvents(response, (events) => events.some((e) => e.data.includes('"progress":1')));
    controller.abort();
    const lastEventId = seen.at(-1)!.id!;
    const seenData = new Set(seen.map((e) => e.data));

    const resumed = await resume(instances.second.url, sessionId, lastEventId);
    expect(resumed.status).toBe(200);
    const rest = parseSse(await resumed.text()).filter((e) => e.data !== '');
    const messages = rest.map((e) => JSON.parse(e.data) as Record<string, any>);
    const progress = messages.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
    expect(progress).toEqual([2, 3, 4]);
    for (const event of rest) expect(seenData.has(event.data)).toBe(false);
    expect(messages.at(-1)).toMatchObject({ id: 7, result: { content: [{ text: expect.stringContaining('completed') }] } });
    expect(messages.filter((m) => m.id === 7)).toHaveLength(1);
  });

  test('resuming from the priming event replays the whole stream, even after the response', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await postWithVersion(instances.first.url, sessionId, toolCall('r', 'echo', { message: 'replayed' }));
    const text = await response.text();
    const primingId = parseSse(text)[0]!.id!;
    const resumed = await resume(instances.second.url, sessionId, primingId);
    const replayed = parseSse(await resumed.text()).map((e) => JSON.parse(e.data) as Record<string, any>);
    expect(replayed).toEqual([expect.objectContaining({ id: 'r', result: { content: [{ type: 'text', text: 'Echo: replayed' }] } })]);
  });

  test('a resume only replays the stream its id names', async () => {
    const sessionId = await openSession(instances.first.url);
    const a = await (await postWithVersion(instances.first.url, sessionId, toolCall(1, 'echo', { message: 'one' }))).text();
    await (await postWithVersion(instances.first.url, sessionId, toolCall(2, 'echo', { message: 'two' }))).text();
    const primingOfA = /^id: (\S+)/.exec(a)![1]!;
    const replayed = parseSse(await (await resume(instances.second.url, sessionId, primingOfA)).text());
    expect(replayed.map((e) => e.data).join('')).toContain('Echo: one');
    expect(replayed.map((e) => e.data).join('')).not.toContain('Echo: two');
  });

  test('standalone stream events carry ids and resume after the given one', async () => {
    const sessionId = await openSession(instances.first.url);
    await (await postWithVersion(instances.first.url, sessionId, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'test://static/resource/1' } })).text();
    const controller = new AbortController();
    const stream = await fetch(`${instances.second.url}/mcp`, {
      headers: { accept: 'text/event-stream', ...VERSION, 'mcp-session-id': sessionId },
      signal: controller.signal,
    });
    const { events } = await readEvents(stream, (e) => e.filter((x) => x.data.includes('resources/updated')).length >= 2);
    controller.abort();
    const ids = seenIds(events);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    // Wait until the standalone lease is released, then resume after the first update.
    let resumed: Response | undefined;
    await waitUntil(async () => {
      resumed = await resume(instances.first.url, sessionId, ids[0]!, AbortSignal.timeout(3000));
      if (resumed.status !== 409) return true;
      await resumed.body?.cancel();
      return false;
    }, 5000, 'standalone stream free again');
    expect(resumed!.status).toBe(200);
    const { events: again } = await readEvents(resumed!, (e) => e.length >= 1);
    await resumed!.body?.cancel().catch(() => undefined);
    expect(again[0]?.event).toBe('message');
    expect(seenIds(again)[0]).toBe(ids[1]);
  });

  test('a Last-Event-ID we never issued is a 400', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await resume(instances.second.url, sessionId, 'not-an-event-id');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32000 } });
  });
});

/** The ids of the events in order (priming included). */
function seenIds(events: ReturnType<typeof parseSse>): string[] {
  return events.map((e) => e.id).filter((id): id is string => Boolean(id));
}
