// Just enough of a 2026-07-28 client: the stateless era carries its version,
// client info and capabilities in every request's _meta, and repeats the method
// (and the tool's name) in the Mcp-Method and Mcp-Name headers. No session.
export const MODERN_REVISION = '2026-07-28';

export const MODERN_META = Object.freeze({
  'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
});

/** The headers of a modern POST /mcp; `name` is the Mcp-Name header, for the methods that have one. */
export function modernHeaders(method, name) {
  return {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': MODERN_REVISION,
    'Mcp-Method': method,
    ...(name !== undefined && { 'Mcp-Name': name }),
  };
}

export function modernRequest(id, method, params) {
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: MODERN_META } };
}

/** The load of (e), (f) and (g): tools/call echo "hi", id 1 on every call (nothing is kept between requests). */
export const MODERN_ECHO = Object.freeze({
  headers: modernHeaders('tools/call', 'echo'),
  body: JSON.stringify(modernRequest(1, 'tools/call', { name: 'echo', arguments: { message: 'hi' } })),
  /** What every answer's body must contain during the load (checked in full once, by checkModernEcho). */
  expected: '"text":"Echo: hi"',
});

/** A subscriptions/listen request for tool-list changes. */
export function listenRequest(id) {
  return {
    headers: modernHeaders('subscriptions/listen'),
    body: JSON.stringify(modernRequest(id, 'subscriptions/listen', { notifications: { toolsListChanged: true } })),
  };
}

/** The fixture tool that publishes a tools/list_changed change event. */
export const TRIGGER_TOOL_CHANGE = Object.freeze({
  headers: modernHeaders('tools/call', 'test_trigger_tool_change'),
  body: JSON.stringify(modernRequest(1, 'tools/call', { name: 'test_trigger_tool_change', arguments: {} })),
});

async function post(baseUrl, { headers, body }) {
  const res = await fetch(`${baseUrl}/mcp`, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/**
 * One modern echo call, checked in full: a 200 whose body is one JSON object
 * (not an event stream) with result.content[0].text === "Echo: hi".
 */
export async function checkModernEcho(baseUrl) {
  const res = await post(baseUrl, MODERN_ECHO);
  let text;
  try {
    const message = JSON.parse(res.text);
    text = message.id === 1 ? message.result?.content?.[0]?.text : undefined;
  } catch {
    text = undefined;
  }
  if (res.status !== 200 || !res.contentType.startsWith('application/json') || text !== 'Echo: hi' || !res.text.includes(MODERN_ECHO.expected)) {
    throw new Error(`modern echo on ${baseUrl} failed: ${res.status} ${res.contentType} ${res.text.slice(0, 300)}`);
  }
}

/** The trigger call; throws unless it is a 200 result. */
export async function triggerToolChange(baseUrl) {
  const res = await post(baseUrl, TRIGGER_TOOL_CHANGE);
  if (res.status !== 200 || !res.text.includes('"result"')) {
    throw new Error(`test_trigger_tool_change on ${baseUrl} failed: ${res.status} ${res.text.slice(0, 300)}`);
  }
}
