// A round-robin HTTP proxy for the conformance runs: each request goes to the
// next instance in turn, so consecutive requests of one session, one
// input_required round and its retry, or a listen stream and the change that
// should reach it, land on different instances and must cross Redis.
//
// Usage: node round-robin-proxy.js <listen-port> <instance-url> <instance-url> [...]
import http from 'node:http';

const [port, ...urls] = process.argv.slice(2);
if (!port || urls.length < 2) {
  console.error('usage: round-robin-proxy.js <listen-port> <instance-url> <instance-url> [...]');
  process.exit(2);
}
const targets = urls.map((url) => new URL(url));
const counts = targets.map(() => 0);
let next = 0;

const server = http.createServer((req, res) => {
  const index = next;
  next = (next + 1) % targets.length;
  counts[index] += 1;
  const target = targets[index];
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
  req.pipe(upstream);
});

server.listen(Number(port), '127.0.0.1', () => console.log(`round-robin proxy listening on ${port}`));
process.on('SIGTERM', () => {
  console.log(`round-robin proxy: requests per instance ${counts.join(', ')}`);
  process.exit(0);
});
