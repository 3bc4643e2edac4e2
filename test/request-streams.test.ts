/**
 * Messages caused by a request travel on that request's own stream: with no
 * standalone stream open, progress, logging and sampling still reach the client,
 * and the client's answer may go to any instance.
 */
import { backendCases, instancesForSuite } from './support/backends.js';
import { MCP_HEADERS, openSession, post, sseReader, toolCall } from './support/raw-mcp.js';
import { sleep } from './support/survival-helpers.js';

const backends = backendCases();

describe.each(backends)('request streams on %s (no GET stream open)', (_name, start) => {
  const instances = instancesForSuite(start);

  test('progress and log notifications arrive before the response on the same stream', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await post(instances.second.url, sessionId, toolCall(1, 'longRunningOperation', { duration: 0.2, steps: 2 }, 'tok'));
    const stream = sseReader(response);
    const methods: string[] = [];
    let message;
    while ((message = await stream.next())) methods.push(message.method ?? `response:${message.id}`);
    expect(methods).toEqual([
      'notifications/progress',
      'notifications/message',
      'notifications/progress',
      'notifications/message',
      'response:1',
    ]);
  });

  test('sampling: the request arrives on the call stream and the answer is posted to the other instance', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await post(instances.first.url, sessionId, toolCall('call-1', 'sampleLLM', { prompt: 'ping', maxTokens: 5 }));
    const stream = sseReader(response);
    const sampling = await stream.next();
    expect(sampling).toMatchObject({ method: 'sampling/createMessage' });
    const answer = await post(instances.second.url, sessionId, {
      jsonrpc: '2.0',
      id: sampling!.id,
      result: { model: 'm', role: 'assistant', content: { type: 'text', text: 'pong' } },
    });
    expect(answer.status).toBe(202);
    const result = await stream.next();
    expect(result).toMatchObject({ id: 'call-1', result: { content: [{ type: 'text', text: 'LLM sampling result: pong' }] } });
    expect(await stream.next()).toBeUndefined();
  });

  test('a client that vanishes while sampling is pending leaves the server serving', async () => {
    const sessionId = await openSession(instances.first.url);
    const controller = new AbortController();
    const response = await post(instances.second.url, sessionId, toolCall(9, 'sampleLLM', { prompt: 'x', maxTokens: 5 }), controller.signal);
    const stream = sseReader(response);
    expect(await stream.next()).toMatchObject({ method: 'sampling/createMessage' });
    controller.abort();
    await stream.cancel();
    // Another request in the same session still works, and so does a new session.
    const reply = await post(instances.first.url, sessionId, toolCall(10, 'echo', { message: 'alive' }));
    const replyStream = sseReader(reply);
    expect(await replyStream.next()).toMatchObject({ id: 10, result: { content: [{ text: 'Echo: alive' }] } });
    await openSession(instances.second.url);
  });

  test('a cancelled request ends its stream without a response', async () => {
    const sessionId = await openSession(instances.first.url);
    const response = await post(instances.second.url, sessionId, toolCall(4, 'longRunningOperation', { duration: 5, steps: 5 }, 'p'));
    const stream = sseReader(response);
    expect(await stream.next()).toMatchObject({ method: 'notifications/progress' });
    const cancel = await post(instances.first.url, sessionId, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 4, reason: 'changed my mind' },
    });
    expect(cancel.status).toBe(202);
    const rest: Array<Record<string, any>> = [];
    let message;
    while ((message = await stream.next())) rest.push(message);
    expect(rest.some((m) => m.id === 4)).toBe(false);
  });

  test('a request cancelled before anything was written to its stream: the response ends at once, empty', async () => {
    const sessionId = await openSession(instances.first.url);
    // An older client: no priming event, so nothing is written until the tool has something to say.
    // (Its headers too leave with the first thing written, so the response is not awaited yet.)
    const responding = fetch(`${instances.second.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify(toolCall(5, 'longRunningOperation', { duration: 10, steps: 2 })),
    }).then(async (response) => ({ status: response.status, body: await response.text() }));
    await sleep(300);
    const cancel = await post(instances.first.url, sessionId, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 5, reason: 'changed my mind' },
    });
    expect(cancel.status).toBe(202);
    const answer = await Promise.race([responding, sleep(3000).then(() => 'still open 3 s after the cancel')]);
    expect(answer).toEqual({ status: 200, body: '' });
  });
});
