// Opening many sessions over keep-alive connections, and timing single echo calls.
import { ECHO_EXPECTED, echoCall, INITIALIZE, INITIALIZED, POST_HEADERS, sessionHeaders } from './mcp-client.js';
import { postJson } from './http-keepalive.js';

/** initialize + notifications/initialized on `baseUrl`; returns the session id. Throws on anything else. */
export async function openSession(agent, baseUrl, timeoutMs) {
  const init = await postJson(agent, `${baseUrl}/mcp`, INITIALIZE, POST_HEADERS, timeoutMs);
  const sessionId = init.headers['mcp-session-id'];
  if (init.status !== 200 || !sessionId || !init.text.includes('"result"')) {
    throw new Error(`initialize on ${baseUrl} failed: ${init.status} ${init.text.slice(0, 300)}`);
  }
  const ack = await postJson(agent, `${baseUrl}/mcp`, INITIALIZED, sessionHeaders(sessionId), timeoutMs);
  if (ack.status !== 202) throw new Error(`initialized on ${baseUrl} of ${sessionId} failed: ${ack.status} ${ack.text.slice(0, 300)}`);
  return sessionId;
}

/**
 * Opens `count` sessions, session i on urls[i % urls.length], with at most
 * `concurrency` in flight. The first failure stops every worker and rejects:
 * a run with a failed session measures nothing. `onProgress(done, elapsedS)`
 * is called every `progressEvery` sessions.
 */
export async function openManySessions({ agent, urls, count, concurrency, timeoutMs, onProgress, progressEvery }) {
  const ids = new Array(count);
  const creator = new Uint8Array(count);
  const startedAt = performance.now();
  let next = 0;
  let done = 0;
  let failed;
  const worker = async () => {
    while (next < count && !failed) {
      const i = next++;
      creator[i] = i % urls.length;
      try {
        ids[i] = await openSession(agent, urls[creator[i]], timeoutMs);
      } catch (error) {
        failed ??= Object.assign(error, { sessionIndex: i, doneBefore: done });
        return;
      }
      done += 1;
      if (onProgress && done % progressEvery === 0) onProgress(done, (performance.now() - startedAt) / 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failed) throw failed;
  const elapsedS = (performance.now() - startedAt) / 1000;
  return { ids, creator, elapsedS, sessionsPerSecond: count / elapsedS };
}

/** One echo tools/call; resolves its latency in ms, throws unless it is a 200 with the echoed text. */
export async function timeEcho(agent, baseUrl, sessionId, requestId, timeoutMs) {
  const res = await postJson(agent, `${baseUrl}/mcp`, echoCall(requestId), sessionHeaders(sessionId), timeoutMs);
  if (res.status !== 200 || !res.text.includes(ECHO_EXPECTED)) {
    throw new Error(`echo ${requestId} on ${baseUrl} for ${sessionId} failed: ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res.ms;
}
