// The load: autocannon POSTing echo tool calls, one MCP session per connection
// (the sessionful targets), or the same stateless request on every connection
// (the 2026-07-28 targets).
import autocannon from 'autocannon';
import { ECHO_EXPECTED, echoCall, POST_HEADERS, PROTOCOL_VERSION } from './mcp-client.js';

/** Exact percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Each connection takes one session from the pool of the port it targets, so
 * that request ids never collide within a session and, in the two-instance run,
 * a connection can be given a session owned by the other instance.
 */
function sessionAssigner(sessionsByPort, onRequest) {
  const pools = new Map([...sessionsByPort].map(([port, ids]) => [String(port), [...ids]]));
  return (client) => {
    const sessionId = pools.get(String(client.opts.port))?.shift();
    if (!sessionId) throw new Error(`no session left for a connection to port ${client.opts.port}`);
    client.setHeaders({ 'Mcp-Session-Id': sessionId });
    client.on('request', onRequest);
  };
}

/** The sessionful load: echo "hello" with a fresh id on every call, in the connection's session. */
function sessionRequest(sessionsByPort, onRequest) {
  return {
    headers: { ...POST_HEADERS, 'MCP-Protocol-Version': PROTOCOL_VERSION },
    // "[<id>]" is replaced by a fresh unique id on every request.
    body: JSON.stringify(echoCall('[<id>]')),
    idReplacement: true,
    expected: ECHO_EXPECTED,
    setupClient: sessionAssigner(sessionsByPort, onRequest),
  };
}

/** A stateless load: the same request (`headers`, `body`) on every connection, answered with `expected` in the body. */
function statelessRequest({ headers, body, expected }, onRequest) {
  return {
    headers,
    body,
    idReplacement: false,
    expected,
    setupClient: (client) => client.on('request', onRequest),
  };
}

/**
 * Runs autocannon for `durationS` against `urls` (connections are spread over
 * them round-robin). Latencies are kept exactly (not autocannon's whole-ms
 * histogram) so that sub-millisecond differences show. With `sessionsByPort`
 * each connection speaks in its own session; with `request` ({ headers, body,
 * expected }) every connection sends that stateless request.
 */
export async function runLoad({ urls, sessionsByPort, request, connections, durationS, timeoutS }) {
  let failedSample;
  let sent = 0;
  const latencies = [];
  const onRequest = () => {
    sent += 1;
  };
  const load = request ? statelessRequest(request, onRequest) : sessionRequest(sessionsByPort, onRequest);
  const opts = {
    url: urls,
    connections,
    duration: durationS,
    method: 'POST',
    path: '/mcp',
    headers: load.headers,
    body: load.body,
    idReplacement: load.idReplacement,
    // A call slower than this counts as failed (autocannon reconnects and goes on);
    // without it a stuck call would silently idle its connection for the whole run.
    timeout: timeoutS,
    setupClient: load.setupClient,
    verifyBody(body) {
      const ok = body.includes(load.expected);
      if (!ok) failedSample ??= body.slice(0, 300);
      return ok;
    },
  };
  const startedAt = performance.now();
  const result = await new Promise((resolve, reject) => {
    const tracker = autocannon(opts, (error, res) => (error ? reject(error) : resolve(res)));
    tracker.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  const elapsedS = (performance.now() - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  // A non-2xx body fails verifyBody too, so mismatches already include non2xx
  // (the max() is there in case autocannon ever skips the check for them);
  // errors include timeouts.
  const failures = result.errors + Math.max(result.mismatches, result.non2xx);
  return {
    completed: result['2xx'],
    /** Calls written to a socket, including those cut off when the run stopped. */
    sent,
    requestsPerSecond: result['2xx'] / elapsedS,
    autocannonAverageRps: result.requests.average,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? NaN,
    elapsedS,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    failures,
    failedSample,
    statusCodes: result.statusCodeStats,
  };
}
