import { jest } from '@jest/globals';
import { backendCases, instancesForSuite } from './support/backends.js';
import { callTool, inputRequiredOf, openListen, resultOf } from './support/modern.js';
import { openSession, post, toolCall } from './support/raw-mcp.js';

jest.setTimeout(30_000);

const TOKEN = 'metrics-token-for-the-tests';

/** One sample's value from a Prometheus exposition (0 when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .find((l) => Object.entries(labels).every(([key, value]) => l.includes(`${key}="${value}"`)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function scrape(url: string | undefined): Promise<string> {
  const response = await fetch(url!);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe.each(backendCases({ METRICS_PORT: '0', METRICS_TOKEN: TOKEN, MAX_LISTEN_STREAMS_PER_INSTANCE: '1' }))('metrics on %s', (_name, start) => {
  const suite = instancesForSuite(start);

  test('a scrape after known calls shows them: tool calls by era and outcome, HTTP requests by route and era, sessions, refusals', async () => {
    const { first: A, second: B } = suite;
    const before = await scrape(A.metricsUrl);
    const beforeB = await scrape(B.metricsUrl);

    // The sessionful era: a session created on A, two echo calls and one sampleLLM the client cannot answer, driven through B.
    const sessionId = await openSession(A.url);
    for (const id of [1, 2]) await (await post(B.url, sessionId, toolCall(id, 'echo', { message: 'hi' }))).text();
    await (await post(B.url, sessionId, toolCall(3, 'get-roots-list', {}))).text();
    // The stateless era, on B: one echo, one round of an elicitation.
    resultOf(await callTool(B.url, 'echo', { message: 'hi' }));
    inputRequiredOf(await callTool(B.url, 'test_input_required_result_elicitation'));
    // A refusal: this instance holds one listen stream at most.
    const listening = await openListen(B.url, { toolsListChanged: true });
    const refused = await openListen(B.url, { toolsListChanged: true });
    expect(refused.refusal?.error?.message).toContain('MAX_LISTEN_STREAMS_PER_INSTANCE');
    listening.close();

    const owner = await scrape(A.metricsUrl);
    const edge = await scrape(B.metricsUrl);
    const grew = (after: string, earlier: string, name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(earlier, name, labels);
    // Tool calls are counted where they run: the session's owner (A), the stateless requests' instance (B).
    expect(grew(owner, before, 'mcp_tool_calls_total', { tool: 'echo', era: 'session', outcome: 'ok' })).toBe(2);
    expect(grew(owner, before, 'mcp_tool_calls_total', { tool: 'get-roots-list', era: 'session', outcome: 'tool_error' })).toBe(1);
    expect(grew(edge, beforeB, 'mcp_tool_calls_total', { tool: 'echo', era: 'modern', outcome: 'ok' })).toBe(1);
    expect(grew(edge, beforeB, 'mcp_tool_calls_total', { tool: 'test_input_required_result_elicitation', era: 'modern', outcome: 'input_required' })).toBe(1);
    expect(grew(owner, before, 'mcp_session_events_total', { event: 'created' })).toBe(1);
    // HTTP: the session's POSTs through B, the stateless ones (and the listen streams) on B.
    expect(grew(edge, beforeB, 'mcp_http_requests_total', { route: '/mcp', status: '200', era: 'session' })).toBeGreaterThanOrEqual(3);
    expect(grew(edge, beforeB, 'mcp_http_requests_total', { route: '/mcp', status: '200', era: 'modern' })).toBeGreaterThanOrEqual(2);
    expect(grew(edge, beforeB, 'mcp_http_requests_total', { route: '/mcp', status: '503', era: 'modern' })).toBe(1);
    expect(grew(edge, beforeB, 'mcp_refusals_total', { setting: 'MAX_LISTEN_STREAMS_PER_INSTANCE' })).toBe(1);
    // The gauges read the instance now; the event loop's lag comes with the process figures.
    expect(sample(owner, 'mcp_sessions_resident', {})).toBeGreaterThanOrEqual(1);
    expect(owner).toContain('nodejs_eventloop_lag_seconds');
    if (A !== B) {
      // On Redis the session's messages crossed the bus.
      expect(grew(owner, before, 'mcp_bus_messages_total', { direction: 'received' })).toBeGreaterThanOrEqual(3);
      expect(grew(edge, beforeB, 'mcp_bus_messages_total', { direction: 'published' })).toBeGreaterThanOrEqual(3);
    }
  });

  test('the public port serves /metrics only to the bearer of METRICS_TOKEN', async () => {
    const url = `${suite.first.url}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('mcp_http_requests_total');
  });
});

describe('metrics off by default', () => {
  const suite = instancesForSuite(backendCases()[0]![1]);

  test('no metrics listener and no /metrics route', async () => {
    expect(suite.first.metricsUrl).toBeUndefined();
    const response = await fetch(`${suite.first.url}/metrics`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await response.json()).error).toBe('not_found');
  });
});
