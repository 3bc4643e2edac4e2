// A child process of the listen-stream phase (bench/lib/listen-streams.js): it
// holds its share of the idle subscriptions/listen streams, each on its own
// socket (plain node:http, no keep-alive agent), and reports over IPC when
// every one of them has received a notifications/tools/list_changed event.
// Times are wall-clock milliseconds with sub-ms precision
// (performance.timeOrigin + performance.now()), comparable across processes.
import http from 'node:http';

const now = () => performance.timeOrigin + performance.now();

const LISTEN_ACK = 'notifications/subscriptions/acknowledged';
const LIST_CHANGED = '"notifications/tools/list_changed"';

/** Open streams: { req, res, receivedAt } where receivedAt is the time of the last list_changed event. */
let streams = [];
/** Bumped by every `expect`: the broadcast a stream's event belongs to. */
let round = 0;
let received = 0;
let reported = true;

function send(message) {
  process.send?.(message);
}

function onListChanged(stream) {
  if (stream.round === round) return; // a second event of the same broadcast
  stream.round = round;
  stream.receivedAt = now();
  received += 1;
  if (!reported && received === streams.length) reportReceived();
}

function reportReceived() {
  reported = true;
  const times = streams.map((s) => (s.round === round ? s.receivedAt : null));
  send({ type: 'received', round, received, open: streams.length, times });
}

/** Opens one listen stream; resolves once its first event (the acknowledgement) arrived. */
function openStream(url, request, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...request.headers, 'Content-Length': Buffer.byteLength(request.body) },
    });
    const stream = { req, res: undefined, round: 0, receivedAt: null, acked: false };
    const timer = setTimeout(() => req.destroy(new Error(`listen stream not acknowledged within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      stream.res = res;
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => fail(new Error(`listen answered ${res.statusCode} ${type}: ${Buffer.concat(chunks).toString().slice(0, 300)}`)));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          const data = event
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (!data) continue; // a comment (keep-alive)
          if (!stream.acked) {
            // The first event must be the acknowledgement.
            let method;
            try {
              method = JSON.parse(data).method;
            } catch {
              method = undefined;
            }
            if (method !== LISTEN_ACK) {
              fail(new Error(`first event of a listen stream is not ${LISTEN_ACK}: ${data.slice(0, 300)}`));
              return;
            }
            stream.acked = true;
            clearTimeout(timer);
            resolve(stream);
          } else if (data.includes(LIST_CHANGED)) {
            onListChanged(stream);
          }
        }
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        if (!stream.acked) fail(new Error('listen stream closed before its acknowledgement'));
        else stream.closed = true;
      });
    });
    req.end(request.body);
  });
}

async function open({ url, request, count, concurrency, timeoutMs }) {
  const startedAt = performance.now();
  let next = 0;
  let failures = 0;
  let firstError;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        streams.push(await openStream(url, request, timeoutMs));
      } catch (error) {
        failures += 1;
        firstError ??= error.message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  send({ type: 'opened', open: streams.length, failures, firstError, elapsedS: (performance.now() - startedAt) / 1000 });
}

function closeAll() {
  for (const stream of streams) stream.req.destroy();
  streams = [];
  received = 0;
  reported = true;
  send({ type: 'closed' });
}

process.on('message', (message) => {
  switch (message?.type) {
    case 'open':
      void open(message);
      break;
    case 'expect':
      // The next list_changed event on each stream belongs to a new broadcast.
      round += 1;
      received = 0;
      reported = false;
      send({ type: 'expecting', round, open: streams.filter((s) => !s.closed).length });
      if (streams.length === 0) reportReceived();
      break;
    case 'report':
      // The parent's deadline passed: say how far the broadcast got.
      if (!reported) reportReceived();
      break;
    case 'close':
      closeAll();
      break;
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
