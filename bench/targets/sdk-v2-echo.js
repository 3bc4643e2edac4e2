// Target (f): a minimal server on the official SDK v2, for the 2026-07-28 era only.
// createMcpHandler(factory, { legacy: 'reject' }) builds a fresh McpServer with one
// `echo` tool for every request; toNodeHandler mounts it on a bare node:http server.
// Listens on 127.0.0.1:$PORT.
import http from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

// One schema for every request's server: its compiled parser is not rebuilt per request.
const ECHO_INPUT = z.object({ message: z.string() });

function factory() {
  const server = new McpServer({ name: 'bench-sdk-v2', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes back the input', inputSchema: ECHO_INPUT },
    async ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
  );
  return server;
}

const handler = toNodeHandler(createMcpHandler(factory, { legacy: 'reject' }));
const server = http.createServer((req, res) => {
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  handler(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
