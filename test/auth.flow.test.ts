/**
 * The OAuth flow end to end, driven by the official SDK client's OAuth support:
 * its transport meets a 401, discovers our metadata, registers, and calls
 * auth(), whose redirect handler (TestOAuthProvider) walks the consent page and
 * the fake IdP as a user would; then finishAuth() exchanges the code and the
 * session runs, every HTTP request alternating between the instances (Redis) —
 * including the OAuth requests themselves. On the embedded backend, one instance.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { authBackendCases, type AuthDeployment } from './support/auth-instances.js';
import { TestOAuthProvider } from './support/auth-flow.js';
import { alternatingFetch } from './support/mcp-client.js';

function text(result: unknown): string {
  return (result as { content: Array<{ text?: string }> }).content.map((c) => c.text).join('');
}

/** alternatingFetch that also records each answer ("GET /mcp 200"). */
function recordingFetch(urls: string[]) {
  const inner = alternatingFetch(urls);
  const seen: string[] = [];
  const fetchLike = async (input: string | URL, init?: RequestInit) => {
    const response = await inner(input, init);
    seen.push(`${init?.method ?? 'GET'} ${new URL(input.toString()).pathname} ${response.status}`);
    return response;
  };
  return Object.assign(fetchLike, { seen });
}

async function waitFor(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends every request of a URL to the next instance in turn. */
function alternatingRewrite(urls: string[]) {
  let next = 0;
  return (url: URL) => {
    const target = new URL(url);
    target.host = new URL(urls[next++ % urls.length]!).host;
    return target;
  };
}

describe.each(authBackendCases())('OAuth with the SDK client on %s', (_name, start) => {
  let deployment: AuthDeployment;

  beforeAll(async () => {
    deployment = await start();
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('discovery: RFC 9728 metadata at the path and root forms, RFC 8414 metadata, resource = BASE_URI/mcp', async () => {
    const { baseUri, urls } = deployment;
    for (const url of urls) {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const response = await fetch(`${url}${path}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ resource: `${baseUri}/mcp`, authorization_servers: [baseUri], scopes_supported: ['mcp'] });
      }
      const metadata = await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json();
      expect(metadata).toMatchObject({
        issuer: baseUri,
        authorization_endpoint: `${baseUri}/authorize`,
        token_endpoint: `${baseUri}/token`,
        registration_endpoint: `${baseUri}/register`,
        revocation_endpoint: `${baseUri}/revoke`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: expect.arrayContaining(['none', 'client_secret_basic', 'client_secret_post']),
        authorization_response_iss_parameter_supported: true,
      });
    }
  });

  test('authorizes through consent and the fake IdP, then runs a session across every instance', async () => {
    const { baseUri, urls } = deployment;
    const serverUrl = new URL('/mcp', baseUri);
    const fetchLike = alternatingFetch(urls);
    const provider = new TestOAuthProvider(`alice-${Date.now()}`, { rewrite: alternatingRewrite(urls) });

    // No token yet: the transport gets 401, runs auth() (discovery, registration, redirect), and gives up for now.
    const first = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: fetchLike });
    const client = new Client({ name: 'oauth-flow-test', version: '1.0.0' });
    await expect(client.connect(first)).rejects.toThrow(UnauthorizedError);
    expect(provider.redirects).toBe(1);
    const redirect = provider.lastRedirect!;
    expect(redirect.code).toMatch(/^mcp_ac_/);
    expect(redirect.iss).toBe(baseUri); // RFC 9207
    expect(provider.clientInformation()).toMatchObject({ client_id: expect.any(String), token_endpoint_auth_method: 'none' });

    // The app's redirect handler got the code: finish, then connect again.
    await first.finishAuth(redirect.code!);
    const tokens = provider.tokens()!;
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mcp', refresh_token: expect.stringMatching(/^mcp_rt_/) });
    expect(tokens.access_token).toMatch(/^mcp_at_/);

    const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: fetchLike });
    await client.connect(transport);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'with a token' } }))).toBe('Echo: with a token');
      expect(text(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('The sum of 2 and 3 is 5.');
      await client.ping();
      // Every instance served part of it: the token issued through them works on each.
      const hosts = new Set(fetchLike.hosts);
      expect(hosts.size).toBe(urls.length);
      expect(provider.redirects).toBe(1);
    } finally {
      await client.close();
    }
  });

  test('the same user keeps the session with a refreshed token (the SDK refreshes on 401 and retries)', async () => {
    const { baseUri, urls } = deployment;
    const serverUrl = new URL('/mcp', baseUri);
    const provider = new TestOAuthProvider(`bob-${Date.now()}`);
    const fetchLike = recordingFetch(urls);
    const client = new Client({ name: 'oauth-refresh-test', version: '1.0.0' });
    const first = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: fetchLike });
    await expect(client.connect(first)).rejects.toThrow(UnauthorizedError);
    await first.finishAuth(provider.lastRedirect!.code!);
    const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: fetchLike });
    await client.connect(transport);
    try {
      const sessionId = transport.sessionId;
      expect(sessionId).toEqual(expect.any(String));
      // The standalone GET stream is open before the token goes: otherwise its own 401 would make the
      // SDK refresh twice at once, and the second use of the refresh token revokes the grant (as it must).
      await waitFor(() => fetchLike.seen.includes('GET /mcp 200'), 'the standalone GET stream');
      const before = provider.tokens()!;
      // Revoke the access token (as if it expired): the next call gets 401, the SDK refreshes and retries.
      const revoked = await fetch(`${urls[0]}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: before.access_token, client_id: (provider.clientInformation() as { client_id: string }).client_id }).toString(),
      });
      expect(revoked.status).toBe(200);
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'after refresh' } }))).toBe('Echo: after refresh');
      const after = provider.tokens()!;
      expect(after.access_token).not.toBe(before.access_token);
      expect(after.refresh_token).not.toBe(before.refresh_token); // rotated
      expect(transport.sessionId).toBe(sessionId);
      expect(provider.redirects).toBe(1); // a refresh, not a new authorization
    } finally {
      await client.close();
    }
  });

  test('legacy HTTP+SSE with the SDK client: the stream and the posts carry the token', async () => {
    const { baseUri, urls } = deployment;
    // The SDK checks the metadata's resource against the URL it connects to (/sse); a legacy client
    // accepts the server's resource, /mcp, which is the audience of every token here.
    const provider = Object.assign(new TestOAuthProvider(`carol-${Date.now()}`), {
      validateResourceURL: async (_serverUrl: string | URL, resource?: string) => (resource ? new URL(resource) : undefined),
    });
    const sseUrl = new URL('/sse', baseUri);
    const postHost = new URL(urls[urls.length - 1]!).host;
    const fetchLike = (input: string | URL, init?: RequestInit) => {
      const url = new URL(input.toString());
      if ((init?.method ?? 'GET').toUpperCase() === 'POST' && url.pathname === '/message') url.host = postHost;
      return fetch(url, init);
    };
    const first = new SSEClientTransport(sseUrl, { authProvider: provider, fetch: fetchLike });
    await expect(new Client({ name: 'oauth-sse-test', version: '1.0.0' }).connect(first)).rejects.toThrow(UnauthorizedError);
    await first.finishAuth(provider.lastRedirect!.code!);
    const client = new Client({ name: 'oauth-sse-test', version: '1.0.0' });
    const transport = new SSEClientTransport(sseUrl, { authProvider: provider, fetch: fetchLike });
    await client.connect(transport);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { message: 'legacy' } }))).toBe('Echo: legacy');
    } finally {
      await client.close();
    }
  });
});
