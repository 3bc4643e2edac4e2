// Target (g), the floor: a bare node:http server that reads the JSON body of
// POST /mcp, parses it, and answers the JSON-RPC echo result as one JSON object.
// No MCP validation, no framework. Listens on 127.0.0.1:$PORT.
//
// It is also the floor of the listen-stream phase: `subscriptions/listen` gets
// an event stream with its acknowledgement and is kept open, and a tools/call of
// `test_trigger_tool_change` writes notifications/tools/list_changed to every
// open stream. Nothing else of MCP is there.
import http from 'node:http';

const SERVER_INFO = { 'io.modelcontextprotocol/serverInfo': { name: 'bench-bare', version: '1.0.0' } };
const listens = new Set();

function json(res, status, message) {
  const body = JSON.stringify(message);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function event(res, message) {
  res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

function listen(res, message) {
  const subscription = { 'io.modelcontextprotocol/subscriptionId': message.id };
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  event(res, { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { _meta: subscription, notifications: message.params?.notifications } });
  const stream = { res, subscription };
  listens.add(stream);
  res.on('close', () => listens.delete(stream));
}

function triggerToolChange(res, message) {
  for (const { res: stream, subscription } of listens) event(stream, { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: subscription } });
  json(res, 200, { jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'Mutation triggered' }], resultType: 'complete', _meta: SERVER_INFO } });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (message?.method === 'subscriptions/listen') return listen(res, message);
    if (message?.params?.name === 'test_trigger_tool_change') return triggerToolChange(res, message);
    const text = `Echo: ${message?.params?.arguments?.message}`;
    json(res, 200, { jsonrpc: '2.0', id: message?.id ?? null, result: { content: [{ type: 'text', text }], resultType: 'complete', _meta: SERVER_INFO } });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  for (const { res } of listens) res.destroy();
  server.close(() => process.exit(0));
});
