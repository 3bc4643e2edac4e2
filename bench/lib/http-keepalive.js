// POSTs over node:http with a keep-alive agent: cheaper per request than fetch
// (undici) when the bench itself opens hundreds of thousands of requests on the
// same two cores as the servers.
import http from 'node:http';

/** One keep-alive agent for the whole run; `maxSockets` bounds connections per instance. */
export function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
}

/**
 * POST `body` (an object, sent as JSON) to `url`; resolves { status, headers, text, ms }
 * where ms is the time from sending to the last byte. Rejects on a socket error or
 * when the whole exchange takes longer than `timeoutMs`.
 */
export function postJson(agent, url, body, headers, timeoutMs = 10_000) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'Content-Length': Buffer.byteLength(payload) },
    });
    const timer = setTimeout(() => req.destroy(new Error(`POST ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString(), ms: performance.now() - startedAt });
      });
    });
    req.end(payload);
  });
}
