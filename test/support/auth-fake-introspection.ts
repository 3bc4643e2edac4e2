/**
 * A stand-in for an external authorization server (AUTH_MODE=external): RFC 8414
 * metadata naming its introspection endpoint, and RFC 7662 introspection that
 * requires client_secret_basic and answers from a table the test fills.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAuthorizationServer {
  url: string;
  /** token → introspection response (tokens not listed are inactive). */
  tokens: Map<string, Record<string, unknown>>;
  /** Every introspection request: the Authorization header and the token. */
  calls: Array<{ authorization: string | undefined; token: string | null }>;
  stop(): Promise<void>;
}

export async function startFakeAuthorizationServer(clientId: string, clientSecret: string): Promise<FakeAuthorizationServer> {
  const tokens = new Map<string, Record<string, unknown>>();
  const calls: FakeAuthorizationServer['calls'] = [];
  /** RFC 6749 §2.3.1: Basic credentials are form-urlencoded, then base64. */
  const authenticated = (header: string | undefined) => {
    const match = /^Basic (.+)$/.exec(header ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const decode = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
    return colon > 0 && decode(decoded.slice(0, colon)) === clientId && decode(decoded.slice(colon + 1)) === clientSecret;
  };
  let url = '';
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/.well-known/oauth-authorization-server') {
      send(200, { issuer: url, authorization_endpoint: `${url}/authorize`, token_endpoint: `${url}/token`, introspection_endpoint: `${url}/introspect`, response_types_supported: ['code'] });
      return;
    }
    if (req.method === 'POST' && req.url === '/introspect') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        calls.push({ authorization: req.headers.authorization, token: form.get('token') });
        if (!authenticated(req.headers.authorization)) {
          send(401, { error: 'invalid_client' });
          return;
        }
        send(200, tokens.get(form.get('token') ?? '') ?? { active: false });
      });
      return;
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokens,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
