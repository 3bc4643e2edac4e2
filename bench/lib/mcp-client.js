// Just enough of an MCP Streamable HTTP client to open sessions and check a call.
// The protocol version the load speaks (BENCH_PROTOCOL_VERSION): it decides how our server answers (docs/performance.md).
export const PROTOCOL_VERSION = process.env.BENCH_PROTOCOL_VERSION || '2025-06-18';

export const POST_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
};

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
};

export const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

export const ECHO_EXPECTED = 'Echo: hello';

export function echoCall(id) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' } } };
}

/** Headers of every in-session POST. */
export function sessionHeaders(sessionId) {
  return { ...POST_HEADERS, 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': PROTOCOL_VERSION };
}

async function post(baseUrl, body, headers) {
  const res = await fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** initialize + notifications/initialized; returns the session id. */
export async function openSession(baseUrl) {
  const init = await post(baseUrl, INITIALIZE, POST_HEADERS);
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId || !init.text.includes('"result"')) {
    throw new Error(`initialize on ${baseUrl} failed: ${init.status} ${init.text.slice(0, 300)}`);
  }
  const ack = await post(baseUrl, INITIALIZED, sessionHeaders(sessionId));
  if (ack.status !== 202) throw new Error(`initialized on ${baseUrl} failed: ${ack.status} ${ack.text.slice(0, 300)}`);
  return sessionId;
}

/** Opens `count` sessions with at most `concurrency` in flight. */
export async function openSessions(baseUrl, count, concurrency = 16) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      ids.push(await openSession(baseUrl));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return ids;
}

/** One echo call; throws unless it is a 200 carrying the echoed text. */
export async function checkEcho(baseUrl, sessionId, id = 'check-1') {
  const res = await post(baseUrl, echoCall(id), sessionHeaders(sessionId));
  if (res.status !== 200 || !res.text.includes(ECHO_EXPECTED)) {
    throw new Error(`echo on ${baseUrl} failed: ${res.status} ${res.text.slice(0, 300)}`);
  }
}
