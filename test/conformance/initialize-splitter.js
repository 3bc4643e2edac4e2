// A two-backend HTTP proxy for the conformance run: POSTs carrying `initialize`
// go to instance A (which then owns the session), every other request goes to
// instance B. So every session of the suite is owned by one instance and served
// through the other, and each message crosses Redis.
//
// Usage: node initialize-splitter.js <listen-port> <owner-url> <edge-url>
import http from 'node:http';

const [port, ownerUrl, edgeUrl] = process.argv.slice(2);
if (!port || !ownerUrl || !edgeUrl) {
  console.error('usage: initialize-splitter.js <listen-port> <owner-url> <edge-url>');
  process.exit(2);
}
const owner = new URL(ownerUrl);
const edge = new URL(edgeUrl);

function isInitialize(body) {
  try {
    const message = JSON.parse(body);
    return !Array.isArray(message) && message?.method === 'initialize';
  } catch {
    return false;
  }
}

const counts = { owner: 0, edge: 0 };

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const target = req.method === 'POST' && isInitialize(body.toString()) ? owner : edge;
    counts[target === owner ? 'owner' : 'edge'] += 1;
    // Headers pass unchanged (Host and Origin included): the server's own checks must see them.
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"bad_gateway"}');
    });
    res.on('close', () => upstream.destroy());
    upstream.end(body);
  });
});

server.listen(Number(port), '127.0.0.1', () => console.log(`splitter listening on ${port}`));
process.on('SIGTERM', () => {
  console.log(`splitter routed ${counts.owner} requests to the owner and ${counts.edge} to the edge`);
  process.exit(0);
});
